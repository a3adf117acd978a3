"""What an installer sees: the configuration check and the box's diagnostics, never household data.

Neither answer holds the household's contact details, location, postcode, the telemetry token, MQTT
credentials or the meter's id: an installer checks wiring and devices, not who lives there.
"""

from __future__ import annotations

import os
import platform
import shutil
import time
from typing import Any

from hems import __version__
from hems.api.context import ApiContext
from hems.api.live import _dict, parse_instant
from hems.api.tokens import ROLES


def config_summary(cfg: Any) -> dict[str, Any]:
    site = cfg.site
    meter = cfg.meter
    return {
        "site": {
            "id": site.id,
            "country": site.country,
            "timezone": site.timezone,
            "network": site.network,
            "voltage_v": site.voltage_v,
            "main_fuse_a": site.main_fuse_a,
            "main_fuse_curve": site.main_fuse_curve,
            "cycle_seconds": site.cycle_seconds,
        },
        "meter": None if meter is None else {"port": getattr(meter, "port", None)},
        "circuits": [
            {
                "id": c.id,
                "name": c.name,
                "line": c.line,
                "breaker_a": c.breaker_a,
                "curve": c.curve,
                "meter": None
                if c.meter is None
                else {
                    k: v
                    for k, v in c.meter.model_dump().items()
                    if k in ("model", "serial", "host", "port", "unit_id")
                },
            }
            for c in cfg.circuit
        ],
        "appliances": [{"id": a.id, "kind": a.kind, "circuit": a.circuit} for a in cfg.appliance],
        "mqtt": cfg.mqtt is not None,
        "pv": cfg.pv is not None,
        "telemetry": {"consent": cfg.telemetry.consent, "endpoint_set": cfg.telemetry.endpoint is not None},
        "api": {"host": cfg.api.host, "port": cfg.api.port, "tls": cfg.api.tls} if cfg.api else None,
    }


def _warnings(cfg: Any) -> list[str]:
    out = []
    if cfg.meter is None:
        out.append("no smart meter ([meter]): the grid's import and export are not read")
    for c in cfg.circuit:
        if c.meter is None:
            out.append(f"circuit {c.id!r} has no meter: its breaker is known, its load is not")
    circuit_ids = {c.id for c in cfg.circuit}
    for a in cfg.appliance:
        if a.circuit is not None and a.circuit not in circuit_ids:
            out.append(f"appliance {a.id!r} is on circuit {a.circuit!r}, which is not configured")
    if cfg.telemetry.consent and cfg.telemetry.endpoint is None:
        out.append("telemetry consent is given but no endpoint is set: nothing is uploaded")
    return out


def config_check(ctx: ApiContext) -> dict[str, Any]:
    """The configuration file as it is on disk now (valid or not, and why), and the running one."""
    from hems.config import load_config
    from hems.errors import UsageError

    running = ctx.config
    answer: dict[str, Any] = {"file": ctx.config_path, "ok": True, "error": None}
    checked = running
    if ctx.config_path is not None:
        try:
            checked = load_config(ctx.config_path)
        except UsageError as exc:
            answer.update(ok=False, error=_scrub(str(exc), running))
    answer["summary"] = config_summary(checked)
    answer["warnings"] = _warnings(checked)
    answer["differs_from_running"] = answer["ok"] and checked.model_dump() != running.model_dump()
    return answer


def _scrub(message: str, cfg: Any) -> str:
    """An error line with any secret or contact value of the running config blanked out."""
    secrets = [cfg.telemetry.token, *(v for v in cfg.contact.model_dump().values() if isinstance(v, str))]
    if cfg.mqtt is not None:
        secrets.append(cfg.mqtt.password)
    for s in secrets:
        if s:
            message = message.replace(s, "***")
    return message


def diagnostics(ctx: ApiContext, state: dict[str, Any] | None) -> dict[str, Any]:
    """Versions, the daemon's freshness and each device's trouble, the database, disk and API."""
    now = ctx.now()
    t = state.get("time") if isinstance(state, dict) else None
    when = parse_instant(t)
    age = None if when is None else round((now - when).total_seconds(), 1)
    db: dict[str, Any] = {"path": str(ctx.db_path)}
    try:
        db["size_bytes"] = os.path.getsize(ctx.db_path)
        wal = f"{ctx.db_path}-wal"
        db["wal_bytes"] = os.path.getsize(wal) if os.path.exists(wal) else 0
        free = shutil.disk_usage(ctx.db_path.parent).free
        db["disk_free_bytes"] = free

        def facts(st: Any) -> dict[str, Any]:
            first, last = st.first_time(), st.last_time()
            return {
                "first": first.isoformat() if first else None,
                "last": last.isoformat() if last else None,
                "channels": len(st.channels()),
            }

        db.update(ctx.read(facts))
    except Exception as exc:  # a diagnostics page reports trouble, it does not fail on it
        db["error"] = str(exc)
    active: dict[str, int] = {r: 0 for r in ROLES}
    for tok in ctx.tokens.list():
        if tok.valid_at(now):
            active[tok.role] += 1
    return {
        "hems": __version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "now": now.isoformat(),
        "daemon": {
            "state_time": t,
            "age_s": age,
            "stale": age is None or age > ctx.stale_s,
            "cycle_seconds": ctx.config.site.cycle_seconds,
            "missing_devices": _dict(state, "errors"),
            "mqtt_connected": _dict(state, "control").get("mqtt_connected"),
        },
        "database": db,
        "api": {
            "uptime_s": round(time.monotonic() - ctx.started, 1),
            "tls": ctx.api.tls,
            "fingerprint_sha256": ctx.fingerprint,
            "active_tokens": active,
        },
    }
