"""History, plan and today's energy, computed from a `DataSource` (blocking: call from a thread worker).

Energy of a stored slot = mean power [W] × the slot's length [h] / 1000; the open slot at the end
counts only up to "now". Cost needs the stored price channel ``price.import_per_kwh`` (and
``price.export_per_kwh`` for feed-in); without it the cost is unknown ("—"), never zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
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
    bill: dict[str, float] | None = None  #: the stored report's "energy", "capacity", "fixed", "total"
    currency: str | None = None
    left_out: tuple[str, ...] = ()  #: what the stored bill could not price ("spot price")
    comparison: str | None = None  #: a month against similar homes (hems.telemetry.comparison), in words


def _cost(kwh: dict[datetime, float], prices: Sequence[SeriesPoint], sign: float) -> float | None:
    by_time = {p.time: p.mean for p in prices}
    if not by_time:
        return None
    return sign * sum(e * by_time[t] for t, e in kwh.items() if t in by_time)


def forecast_points(doc: Any) -> dict[datetime, float]:
    """PV forecast power per slot start [kW], from either stored shape: ``{"slots": [ISO...],
    "pv_kw": [...]}`` or ``{"slots": [{"start": ISO, "pv_w": W}, ...]}``."""
    out: dict[datetime, float] = {}
    values = array(doc, "pv_kw")
    for i, slot in enumerate(array(doc, "slots")):
        if isinstance(slot, dict):
            t, w = parse_time(slot.get("start")), num(slot, "pv_w")
            kw = None if w is None else w / 1000
        else:
            t = parse_time(slot)
            v = values[i] if i < len(values) else None
            kw = float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
        if t is not None and kw is not None:
            out[t] = kw
    return out


def _forecast_vs_actual(
    points: dict[datetime, float], pv: dict[datetime, float], start: datetime, end: datetime
) -> tuple[float | None, float | None]:
    """Forecast and actual PV energy [kWh] over the forecast slots in [start, end) with actual data."""
    times = sorted(t for t in points if start <= t < end)
    if not times or not pv:
        return None, None
    step = min((b - a for a, b in pairwise(times)), default=timedelta(minutes=15))
    actual_times = sorted(pv)
    forecast = actual = 0.0
    found = False
    for t in times:
        measured = [pv[a] for a in actual_times if t <= a < t + step]
        if measured:
            found = True
            forecast += points[t] * step.total_seconds() / 3600
            actual += sum(measured)
    return (forecast, actual) if found else (None, None)


def report_key(period: Period, start: datetime) -> str:
    """The document the daemon's report job stores for a complete period (hems.reports.job)."""
    if period == "month":
        return f"report.month.{start:%Y-%m}"
    return f"report.{period}.{start.date().isoformat()}"


def _bill(doc: Any) -> tuple[dict[str, float], str | None, tuple[str, ...]] | None:
    cost = mapping(doc, "cost")
    parts = {k: v for k in ("energy", "capacity", "fixed", "total") if (v := num(cost, k)) is not None}
    if not parts:
        return None
    currency = cost.get("currency") if isinstance(cost.get("currency"), str) else None
    raw = cost.get("left_out")
    left_out = tuple(str(x).split(" (")[0] for x in raw) if isinstance(raw, list) else ()
    return parts, currency, left_out


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
    points: dict[datetime, float] = {}
    days = [start.date() + timedelta(days=i) for i in range((end.date() - start.date()).days)]
    for doc in [source.get_doc(f"forecast.pv.{d.isoformat()}") for d in days] + [
        source.get_doc("pv_forecast")
    ]:
        for t, kw in forecast_points(doc).items():
            points.setdefault(t, kw)  # the forecast archived for its day wins over the newest one
    f_kwh, a_kwh = _forecast_vs_actual(points, kwh["pv.p_w"], start, until)
    bill = _bill(source.get_doc(report_key(period, start)))

    def total(ch: str) -> float | None:
        return sum(kwh[ch].values()) if kwh[ch] else None

    buckets = tuple(Bucket(k.astimezone(tz), *bars[k]) for k in keys)

    return History(
        period=period,
        start=start,
        end=end,
        buckets=buckets,
        import_kwh=total("grid.p_import_w"),
        export_kwh=total("grid.p_export_w"),
        pv_kwh=total("pv.p_w"),
        cost=cost,
        circuits=per_circuit,
        pv_forecast_kwh=f_kwh,
        pv_actual_kwh=a_kwh,
        bill=bill[0] if bill else None,
        currency=bill[1] if bill else None,
        left_out=bill[2] if bill else (),
        comparison=_comparison(source, buckets, start, end, now) if period == "month" else None,
    )


def _comparison(
    source: DataSource, buckets: Sequence[Bucket], start: datetime, end: datetime, now: datetime
) -> str | None:
    """The month against similar homes, when the telemetry job fetched a comparison for it: the
    household's mean complete day of grid import (days with any energy) against their median."""
    stored = source.get_doc(f"comparison.{start:%Y-%m}")
    if stored is None:
        return None
    from hems.telemetry.comparison import comparison_sentence

    days = [
        b.import_kwh
        for b in buckets
        if b.start + timedelta(days=1) <= now and (b.import_kwh or b.export_kwh or b.pv_kwh)
    ]
    own = sum(days) / len(days) if days else None
    return comparison_sentence(own, stored, "this month" if start <= now < end else f"in {start:%B %Y}")


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
