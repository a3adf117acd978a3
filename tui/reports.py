"""History, plan and today's energy, computed from a `DataSource` (blocking: call from a thread worker).

Energy of a stored slot = mean power [W] × the slot's length [h] / 1000; the open slot at the end
counts only up to "now". Cost needs the stored price channel ``price.import_per_kwh`` (and
``price.export_per_kwh`` for feed-in); without it the cost is unknown ("—"), never zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Literal

from tui.model import array, mapping, num, parse_time
from tui.source import DataSource, SeriesPoint

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = ("day", "week", "month")
_SLOT = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "1d": timedelta(days=1)}


def local_midnight(d: date, tz: tzinfo) -> datetime:
    return datetime.combine(d, time(0), tzinfo=tz)


def period_bounds(period: Period, anchor: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of the local day, ISO week (Mon–Sun) or calendar month holding ``anchor``."""
    if period == "day":
        first, last = anchor, anchor + timedelta(days=1)
    elif period == "week":
        first = anchor - timedelta(days=anchor.weekday())
        last = first + timedelta(days=7)
    else:
        first = anchor.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1)
    return local_midnight(first, tz), local_midnight(last, tz)


def shift_anchor(period: Period, anchor: date, steps: int) -> date:
    """The anchor ``steps`` periods later (negative: earlier)."""
    if period == "day":
        return anchor + timedelta(days=steps)
    if period == "week":
        return anchor + timedelta(weeks=steps)
    month = anchor.year * 12 + anchor.month - 1 + steps
    return date(month // 12, month % 12 + 1, 1)


def slot_kwh(points: Iterable[SeriesPoint], slot: timedelta, until: datetime) -> dict[datetime, float]:
    """Energy [kWh] of each slot of a power series [W], the last one cut at ``until``."""
    out: dict[datetime, float] = {}
    for p in points:
        length = min(slot, max(until - p.time, timedelta(0)))
        out[p.time] = p.mean * length.total_seconds() / 3600 / 1000
    return out


def energy_kwh(source: DataSource, channel: str, start: datetime, end: datetime, res: str) -> float | None:
    """Total energy [kWh] of a power channel over [start, end); None when nothing is stored."""
    points = source.series(channel, start, end, res)
    if not points:
        return None
    return sum(slot_kwh(points, _SLOT[res], end).values())


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime  #: local start of the chart bar (an hour or a day)
    import_kwh: float
    export_kwh: float
    pv_kwh: float


@dataclass(frozen=True, slots=True)
class History:
    period: Period
    start: datetime  #: local
    end: datetime
    buckets: tuple[Bucket, ...]
    import_kwh: float | None
    export_kwh: float | None
    pv_kwh: float | None
    cost: float | None  #: import cost minus export revenue, in the price's currency
    circuits: tuple[tuple[str, str, float | None], ...]  #: (id, name, kWh)
    pv_forecast_kwh: float | None  #: forecast over the slots that have an actual value
    pv_actual_kwh: float | None


def _cost(kwh: dict[datetime, float], prices: Sequence[SeriesPoint], sign: float) -> float | None:
    by_time = {p.time: p.mean for p in prices}
    if not by_time:
        return None
    return sign * sum(e * by_time[t] for t, e in kwh.items() if t in by_time)


def _forecast_vs_actual(
    doc: Any, pv: dict[datetime, float], start: datetime, end: datetime
) -> tuple[float | None, float | None]:
    """Forecast and actual PV energy [kWh] over the forecast slots in [start, end) with actual data."""
    if not isinstance(doc, dict) or not isinstance(doc.get("slots"), list) or not pv:
        return None, None
    slots = [parse_time(s) for s in doc["slots"]]
    values = array(doc, "pv_kw")
    if len(slots) < 2 or slots[0] is None or slots[1] is None:
        return None, None
    step = slots[1] - slots[0]
    actual_times = sorted(pv)
    forecast = actual = 0.0
    found = False
    for t, kw in zip(slots, values, strict=False):
        if t is None or not isinstance(kw, int | float) or not start <= t < end:
            continue
        measured = [pv[a] for a in actual_times if t <= a < t + step]
        if not measured:
            continue
        found = True
        forecast += kw * step.total_seconds() / 3600
        actual += sum(measured)
    return (forecast, actual) if found else (None, None)


def load_history(
    source: DataSource,
    period: Period,
    anchor: date,
    tz: tzinfo,
    now: datetime,
    circuits: Sequence[tuple[str, str]] = (),
) -> History:
    """Energy, cost and per-circuit totals of one period. Raises `SourceUnavailable`."""
    start, end = period_bounds(period, anchor, tz)
    until = min(end, now)
    res = "15m" if period == "day" else "1h"
    slot = _SLOT[res]
    kwh = {
        ch: slot_kwh(source.series(ch, start, until, res), slot, until) if until > start else {}
        for ch in ("grid.p_import_w", "grid.p_export_w", "pv.p_w")
    }
    bars: dict[datetime, list[float]] = {k: [0.0, 0.0, 0.0] for k in bar_starts(period, start, end, tz)}
    keys = sorted(bars)
    for i, ch in enumerate(("grid.p_import_w", "grid.p_export_w", "pv.p_w")):
        for ts, e in kwh[ch].items():
            k = _bucket_of(keys, ts)
            if k is not None:
                bars[k][i] += e
    prices = {
        side: source.series(f"price.{side}_per_kwh", start, until, res) if until > start else []
        for side in ("import", "export")
    }
    cost_in = _cost(kwh["grid.p_import_w"], prices["import"], 1.0)
    cost_out = _cost(kwh["grid.p_export_w"], prices["export"], -1.0)
    cost = None if cost_in is None else cost_in + (cost_out or 0.0)
    per_circuit = tuple(
        (cid, name, energy_kwh(source, f"circuit.{cid}.p_w", start, until, res) if until > start else None)
        for cid, name in circuits
    )
    f_kwh, a_kwh = _forecast_vs_actual(source.get_doc("pv_forecast"), kwh["pv.p_w"], start, until)

    def total(ch: str) -> float | None:
        return sum(kwh[ch].values()) if kwh[ch] else None

    return History(
        period=period,
        start=start,
        end=end,
        buckets=tuple(Bucket(k.astimezone(tz), *bars[k]) for k in keys),
        import_kwh=total("grid.p_import_w"),
        export_kwh=total("grid.p_export_w"),
        pv_kwh=total("pv.p_w"),
        cost=cost,
        circuits=per_circuit,
        pv_forecast_kwh=f_kwh,
        pv_actual_kwh=a_kwh,
    )


def bar_starts(period: Period, start: datetime, end: datetime, tz: tzinfo) -> list[datetime]:
    """Starts of the chart's bars: each clock hour of a day (23 or 25 on DST days), else each day."""
    out = []
    if period == "day":
        t = start.astimezone(UTC)
        while t < end:
            out.append(t.astimezone(tz))
            t += timedelta(hours=1)
        return out
    d = start.date()
    while local_midnight(d, tz) < end:
        out.append(local_midnight(d, tz))
        d += timedelta(days=1)
    return out


def _bucket_of(keys: Sequence[datetime], t: datetime) -> datetime | None:
    found = None
    for k in keys:
        if k <= t:
            found = k
        else:
            break
    return found


def circuits_today_kwh(
    source: DataSource, ids: Sequence[str], now: datetime, tz: tzinfo
) -> dict[str, float | None]:
    """Each circuit's energy [kWh] since local midnight. Raises `SourceUnavailable`."""
    start = local_midnight(now.astimezone(tz).date(), tz)
    return {cid: energy_kwh(source, f"circuit.{cid}.p_w", start, now, "15m") for cid in ids}


# ----- the day-ahead plan -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PlannedRun:
    id: str
    start: datetime | None  #: a shiftable program's start
    power_kw: tuple[float, ...]  #: per slot [kW]
    explanation: str | None


@dataclass(frozen=True, slots=True)
class Plan:
    slots: tuple[datetime, ...]
    slot_hours: float
    status: str | None
    objective: float | None
    energy_cost: float | None
    capacity_cost: float | None
    price: tuple[float | None, ...]  #: import price per slot
    pv_kw: tuple[float | None, ...]
    import_kw: tuple[float | None, ...]
    runs: tuple[PlannedRun, ...]
    battery_kw: tuple[float, ...] | None  #: charge − discharge per slot [kW]
    soc_kwh: tuple[float | None, ...] | None


def _floats(value: Any, n: int) -> tuple[float | None, ...]:
    items = value if isinstance(value, list) else []
    out = [float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None for v in items]
    return tuple((out + [None] * n)[:n])


def _explain(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def parse_plan(doc: Any) -> Plan | None:
    """The plan document (scenario-format "Output" + prices and PV), or None when unusable."""
    if not isinstance(doc, dict) or not isinstance(doc.get("slots"), list):
        return None
    slots = tuple(t for t in (parse_time(s) for s in doc["slots"]) if t is not None)
    if not slots or len(slots) != len(doc["slots"]):
        return None
    n = len(slots)
    hours = (slots[1] - slots[0]).total_seconds() / 3600 if n > 1 else 0.25
    apps = mapping(doc, "appliances")
    runs = tuple(
        PlannedRun(
            id=str(aid),
            start=parse_time(a.get("start")),
            power_kw=tuple(v or 0.0 for v in _floats(a.get("power_kw"), n)),
            explanation=_explain(a.get("explanation")),
        )
        for aid, a in apps.items()
        if isinstance(a, dict)
    )
    bat = mapping(doc, "battery") or None
    battery = None
    if bat is not None:
        charge, discharge = _floats(bat.get("charge_kw"), n), _floats(bat.get("discharge_kw"), n)
        battery = tuple((c or 0.0) - (d or 0.0) for c, d in zip(charge, discharge, strict=True))
    grid = mapping(doc, "grid")
    return Plan(
        slots=slots,
        slot_hours=hours,
        status=doc.get("status") if isinstance(doc.get("status"), str) else None,
        objective=num(doc, "objective"),
        energy_cost=num(doc, "energy_cost"),
        capacity_cost=num(doc, "capacity_cost"),
        price=_floats(doc.get("import_price_per_kwh"), n),
        pv_kw=_floats(doc.get("pv_kw"), n),
        import_kw=_floats(grid.get("import_kw"), n),
        runs=runs,
        battery_kw=battery,
        soc_kwh=_floats(bat.get("soc_kwh"), n) if bat is not None else None,
    )
