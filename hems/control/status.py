"""What control adds to the live state (the dashboard's state file and the MQTT ``state`` topic).

The dashboard (tui/model.py) reads ``price`` {import_per_kwh, export_per_kwh, band}, ``capacity`` {hour_start,
hour_kwh_so_far, projected_kw, step_lower_kw, step_upper_kw, step_price, month_mean_kw} and
``alerts`` [{time, level, kind, message}]; Home Assistant's templates read ``price_now_per_kwh`` and
``alerts_active``; ``control`` holds the rest (shed loads, planned starts, broker connection).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hems.alerts.engine import LEVELS, AlertEngine


def live_keys(
    engine: AlertEngine,
    now: datetime | None,
    price: dict[str, Any] | None,
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
        "price_now_per_kwh": price["import_per_kwh"] if price else None,
        "control": {
            "shed": shed,
            "next_start": (plan or {}).get("next_start"),
            "starts": (plan or {}).get("starts", {}),
            "mqtt_connected": mqtt_connected,
        },
    }
    if price is not None:
        out["price"] = price
    tracker = engine.capacity
    proj = tracker.projection(now) if tracker is not None and now is not None else None
    if tracker is not None and proj is not None:
        bounds = tracker.bounds
        out["capacity"] = {
            "hour_start": proj.hour_start.isoformat(),
            "hour_kwh_so_far": round(proj.energy_so_far_kwh, 3),
            "projected_kw": round(proj.projected_kwh, 3),
            "step_upper_kw": bounds[proj.step_now] if proj.step_now < len(bounds) else None,
            "step_lower_kw": bounds[proj.step_now - 1] if proj.step_now > 0 else 0.0,
            "step_price": tracker.prices[proj.step_now],
            "month_mean_kw": round(proj.month_mean_kw, 3),  #: the month's figure so far [kW]
        }
    return out


def price_band(price: float, day_prices: list[float]) -> str:
    """Where ``price`` falls among the day's prices: "low", "normal" or "high" (by thirds)."""
    ranked = sorted(day_prices)
    if not ranked:
        return "normal"
    n = len(ranked)
    low = ranked[max(0, n // 3 - 1)]  # the dearest price of the cheapest third
    high = ranked[min(n - 1, (2 * n) // 3)]  # the cheapest price of the dearest third
    if price <= low and low < high:
        return "low"
    if price >= high and low < high:
        return "high"
    return "normal"


def current_price(
    prices: Callable[[list[datetime], int], tuple[list[float], list[float]]],
    slot: datetime,
    timezone: str,
    slot_minutes: int,
) -> dict[str, Any]:
    """Import and export price of the running ``slot`` and its band among the local day's prices."""
    tz = ZoneInfo(timezone)
    local = slot.astimezone(tz)
    start = datetime(local.year, local.month, local.day, tzinfo=tz).astimezone(UTC)
    following = local.date() + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=tz).astimezone(UTC)
    step = timedelta(minutes=slot_minutes)
    day = [start + i * step for i in range(int((end - start) / step))]  # 92, 96 or 100 quarter-hours
    imports, exports = prices(day, slot_minutes)
    i = day.index(slot.astimezone(UTC))
    return {
        "import_per_kwh": imports[i],
        "export_per_kwh": exports[i],
        "band": price_band(imports[i], list(imports)),
    }
