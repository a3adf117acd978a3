"""The live state as the dashboard sees it: parsed from the daemon's JSON, tolerant of anything missing.

`parse_live(dict)` is pure: it turns the state file's content (``hems.snapshot.snapshot_to_dict`` plus
the daemon's "site", "circuit_info", "price", "capacity", "alerts" keys) into a `Live` whose fields
are None when the daemon did not say (shown as "—", never as 0). Formatting helpers live here too, so
every screen writes numbers the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DASH = "—"
LINES = ("L1", "L2", "L3")


def num(obj: Any, key: str) -> float | None:
    """``obj[key]`` as a finite float, or None when absent or not a number."""
    if not isinstance(obj, dict):
        return None
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def mapping(obj: Any, key: str) -> dict[str, Any]:
    """``obj[key]`` when it is a JSON object, else an empty one."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, dict) else {}


def array(obj: Any, key: str) -> list[Any]:
    """``obj[key]`` when it is a JSON array, else an empty one."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, list) else []


def text(obj: Any, key: str) -> str | None:
    if not isinstance(obj, dict):
        return None
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 instant with an offset, or None (naive or malformed times are not trusted)."""
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


def zone(name: str | None, default: tzinfo) -> tzinfo:
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return default


@dataclass(frozen=True, slots=True)
class LineCurrent:
    line: str
    i_a: float | None  #: [A]
    limit_a: float | None  #: main fuse rating [A]


@dataclass(frozen=True, slots=True)
class CircuitNow:
    id: str
    name: str
    line: str | None
    breaker_a: float | None  #: [A]
    curve: str | None
    i_a: float | None  #: [A] (max over lines for three-phase meters)
    p_w: float | None  #: [W]
    e_import_kwh: float | None  #: cumulative meter register [kWh]
    error: str | None = None  #: why the circuit was not read this cycle


@dataclass(frozen=True, slots=True)
class Price:
    import_per_kwh: float | None
    export_per_kwh: float | None
    band: str | None  #: "low" | "normal" | "high"


@dataclass(frozen=True, slots=True)
class Capacity:
    hour_start: datetime | None
    hour_kwh_so_far: float | None  #: [kWh]
    projected_kw: float | None  #: [kW] mean import projected for the whole clock hour
    step_upper_kw: float | None  #: [kW] upper bound of the current step
    step_price: float | None  #: per month
    step_lower_kw: float | None = None  #: [kW] lower bound of the month's step
    month_mean_kw: float | None = None  #: [kW] the month's figure so far (mean of its 3 top days)


@dataclass(frozen=True, slots=True)
class Alert:
    time: datetime | None
    level: str
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class ApplianceNow:
    id: str
    online: bool
    running: bool
    p_w: float | None
    program: str | None


@dataclass(frozen=True, slots=True)
class Live:
    """One cycle of the daemon, as the dashboard shows it."""

    time: datetime | None
    site_id: str | None = None
    timezone: str | None = None
    network: str | None = None
    main_fuse_a: float | None = None
    import_w: float | None = None
    export_w: float | None = None
    pv_w: float | None = None
    lines: tuple[LineCurrent, ...] = ()
    circuits: tuple[CircuitNow, ...] = ()
    appliances: tuple[ApplianceNow, ...] = ()
    price: Price | None = None
    capacity: Capacity | None = None
    alerts: tuple[Alert, ...] = ()
    errors: dict[str, str] = field(default_factory=dict)
    shed: tuple[str, ...] = ()  #: loads the box has paused to protect a fuse or the capacity step

    @property
    def net_w(self) -> float | None:
        """Grid power, import positive [W]."""
        if self.import_w is None and self.export_w is None:
            return None
        return (self.import_w or 0.0) - (self.export_w or 0.0)

    @property
    def load_w(self) -> float | None:
        """House consumption = grid net + PV [W]; None without a grid reading."""
        net = self.net_w
        if net is None:
            return None
        return net + (self.pv_w or 0.0)


def _circuits(state: dict[str, Any]) -> tuple[CircuitNow, ...]:
    readings = mapping(state, "circuits")
    info = mapping(state, "circuit_info")
    errors = mapping(state, "errors")
    ids = list(info) + [cid for cid in readings if cid not in info]
    out = []
    for cid in ids:
        r = readings.get(cid)
        meta = mapping(info, cid)
        currents = [num(r, k) for k in ("i_a", "i_l1_a", "i_l2_a", "i_l3_a")]
        known = [c for c in currents if c is not None]
        out.append(
            CircuitNow(
                id=str(cid),
                name=text(meta, "name") or str(cid),
                line=text(meta, "line"),
                breaker_a=num(meta, "breaker_a"),
                curve=text(meta, "curve"),
                i_a=max(known) if known else None,
                p_w=num(r, "p_w"),
                e_import_kwh=num(r, "e_import_kwh"),
                error=str(errors[cid]) if cid in errors else None,
            )
        )
    return tuple(out)


def _alerts(value: Any) -> tuple[Alert, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        Alert(
            time=parse_time(a.get("time")),
            level=text(a, "level") or "info",
            kind=text(a, "kind") or "",
            message=text(a, "message") or "",
        )
        for a in value
        if isinstance(a, dict)
    )


def parse_live(state: Any) -> Live | None:
    """The dashboard's view of one state document; None when it has no valid "time"."""
    if not isinstance(state, dict):
        return None
    time = parse_time(state.get("time"))
    if time is None:
        return None
    grid = mapping(state, "grid") or None
    site = mapping(state, "site")
    fuse = num(site, "main_fuse_a")
    price = state.get("price")
    cap = state.get("capacity")
    apps = mapping(state, "appliances")
    return Live(
        time=time,
        site_id=text(site, "id"),
        timezone=text(site, "timezone"),
        network=text(site, "network"),
        main_fuse_a=fuse,
        import_w=num(grid, "p_import_w"),
        export_w=num(grid, "p_export_w"),
        pv_w=num(state.get("pv"), "p_w"),
        lines=tuple(LineCurrent(ln, num(grid, f"i_{ln.lower()}_a"), fuse) for ln in LINES),
        circuits=_circuits(state),
        appliances=tuple(
            ApplianceNow(
                str(aid),
                bool(a.get("online")),
                bool(a.get("running")),
                num(a, "p_w"),
                text(a, "program"),
            )
            for aid, a in apps.items()
            if isinstance(a, dict)
        ),
        price=Price(num(price, "import_per_kwh"), num(price, "export_per_kwh"), text(price, "band"))
        if isinstance(price, dict)
        else None,
        capacity=Capacity(
            parse_time(cap.get("hour_start")),
            num(cap, "hour_kwh_so_far"),
            num(cap, "projected_kw"),
            num(cap, "step_upper_kw"),
            num(cap, "step_price"),
            num(cap, "step_lower_kw"),
            num(cap, "month_mean_kw"),
        )
        if isinstance(cap, dict)
        else None,
        alerts=_alerts(state.get("alerts")),
        errors={str(k): str(v) for k, v in mapping(state, "errors").items()},
        shed=tuple(str(x) for x in array(mapping(state, "control"), "shed")),
    )


def is_stale(live: Live | None, now: datetime, stale_after: timedelta) -> bool:
    """True when there is no live state, or its time is older than ``stale_after``."""
    return live is None or live.time is None or now - live.time > stale_after


# ----- formatting -------------------------------------------------------------------------------------
def fit(name: str, width: int) -> str:
    """``name`` in exactly ``width`` cells: padded, or cut with "…"."""
    return name.ljust(width) if len(name) <= width else name[: width - 1] + "…"


def fmt_kw(watts: float | None) -> str:
    """Power in kW with two decimals (``"2.35 kW"``), or "—"."""
    return DASH if watts is None else f"{watts / 1000:.2f} kW"


def fmt_a(amps: float | None) -> str:
    return DASH if amps is None else f"{amps:.1f} A"


def fmt_kwh(kwh: float | None) -> str:
    return DASH if kwh is None else f"{kwh:.2f} kWh"


def fmt_money(value: float | None, decimals: int = 2) -> str:
    return DASH if value is None else f"{value:.{decimals}f}"


def fmt_clock(t: datetime | None, tz: tzinfo, seconds: bool = False) -> str:
    if t is None:
        return DASH
    return t.astimezone(tz).strftime("%H:%M:%S" if seconds else "%H:%M")


def fmt_since(t: datetime | None, now: datetime, tz: tzinfo) -> str:
    """``"14:03:21"`` today, ``"Mon 23 Nov 14:03"`` on an earlier day (local time)."""
    if t is None:
        return DASH
    local, today = t.astimezone(tz), now.astimezone(tz)
    if local.date() == today.date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%a %d %b %H:%M")
