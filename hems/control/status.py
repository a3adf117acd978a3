"""What control adds to the live state (the dashboard's state file and the MQTT ``state`` topic).

The dashboard (tui/model.py) reads ``price`` {import_per_kwh}, ``capacity`` {hour_start,
hour_kwh_so_far, projected_kw, step_upper_kw, step_price} and ``alerts`` [{time, level, kind,
message}]; Home Assistant's templates read ``price_now_per_kwh`` and ``alerts_active``; ``control``
holds the rest (shed loads, planned starts, broker connection).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hems.alerts.engine import LEVELS, AlertEngine


def live_keys(
    engine: AlertEngine,
    now: datetime | None,
    price_now: float | None,
    shed: list[str],
    plan: dict[str, Any] | None,
    mqtt_connected: bool | None,
) -> dict[str, Any]:
    """The keys control contributes to a state document at ``now``."""
    active = engine.active
    alerts = [
        {
            "time": t.isoformat() if (t := engine.hysteresis.raised_at.get(k)) else None,
            "level": LEVELS[c.level],
            "kind": c.kind,
            "message": c.message,
        }
        for k, c in active.items()
    ]
    out: dict[str, Any] = {
        "alerts": alerts,
        "alerts_active": [
            {"key": k, "level": LEVELS[c.level], "message": c.message} for k, c in active.items()
        ],
        "price_now_per_kwh": price_now,
        "control": {
            "shed": shed,
            "next_start": (plan or {}).get("next_start"),
            "starts": (plan or {}).get("starts", {}),
            "mqtt_connected": mqtt_connected,
        },
    }
    if price_now is not None:
        out["price"] = {"import_per_kwh": price_now}
    tracker = engine.capacity
    proj = tracker.projection(now) if tracker is not None and now is not None else None
    if tracker is not None and proj is not None:
        bounds = tracker.bounds
        out["capacity"] = {
            "hour_start": proj.hour_start.isoformat(),
            "hour_kwh_so_far": round(proj.energy_so_far_kwh, 3),
            "projected_kw": round(proj.projected_kwh, 3),
            "step_upper_kw": bounds[proj.step_now] if proj.step_now < len(bounds) else None,
            "step_price": tracker.prices[proj.step_now],
        }
    return out
