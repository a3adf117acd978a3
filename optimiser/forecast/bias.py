"""Learning from the meter: per-hour bias correction and forecast accuracy. Pure standard library.

Bias model: for each local clock hour ``h`` and each past day ``d`` with a usable forecast, the ratio
``r = actual energy / forecast energy`` of that hour; the factor of hour ``h`` is the
energy-weighted **median** of its ratios (robust: a day of snow on the panels or a meter outage
moves a median little, a mean a lot). Hours with fewer than ``min_days`` ratios, or whose forecast
energy is tiny (dawn, dusk, night), use the global weighted median of all ratios. Factors are
clipped to ``[0.1, 2.0]``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from optimiser.forecast.slots import SLOT_H, local_date, local_hour, local_quarter

MIN_FACTOR, MAX_FACTOR = 0.1, 2.0


def weighted_median(values: Sequence[float], weights: Sequence[float]) -> float:
    """The value where the cumulative weight reaches half the total (lower median on a tie)."""
    pairs = sorted((v, w) for v, w in zip(values, weights, strict=True) if w > 0)
    if not pairs:
        raise ValueError("weighted_median of nothing")
    half, acc = sum(w for _, w in pairs) / 2.0, 0.0
    for v, w in pairs:
        acc += w
        if acc >= half:
            return v
    return pairs[-1][0]


def _clip(x: float) -> float:
    return min(MAX_FACTOR, max(MIN_FACTOR, x))


@dataclass
class HourlyBias:
    """Multiplicative correction per local clock hour: corrected = forecast × factor."""

    factors: dict[int, float] = field(default_factory=dict)  #: local hour 0..23 → factor [-]
    overall: float = 1.0  #: factor for hours without their own [-]
    days: int = 0  #: distinct days that contributed

    def factor(self, instant: datetime, tz: str) -> float:
        return self.factors.get(local_hour(instant, tz), self.overall)

    def apply(self, slot_starts: Sequence[datetime], values_w: Sequence[float], tz: str) -> list[float]:
        """Corrected powers [W] for the given slots."""
        return [v * self.factor(t, tz) for t, v in zip(slot_starts, values_w, strict=True)]


def _paired(
    forecast: Iterable[tuple[datetime, float]], actual: Iterable[tuple[datetime, float]]
) -> list[tuple[datetime, float, float]]:
    measured = {t: a for t, a in actual if a is not None}
    return [(t, f, measured[t]) for t, f in forecast if t in measured]


def fit_hourly_bias(
    forecast: Iterable[tuple[datetime, float]],
    actual: Iterable[tuple[datetime, float]],
    tz: str,
    *,
    min_days: int = 3,
    min_share: float = 0.02,
) -> HourlyBias:
    """Fit per-hour factors from past (slot start UTC, forecast W) and (slot start UTC, measured W).

    Only slots present in both series count. ``min_share``: an hour-cell needs at least this share
    of the largest hour-cell's forecast energy to count (keeps dawn noise out).
    """
    cells: dict[tuple[date, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for t, f, a in _paired(forecast, actual):
        cell = cells[(local_date(t, tz), local_hour(t, tz))]
        cell[0] += max(f, 0.0) * SLOT_H
        cell[1] += max(a, 0.0) * SLOT_H
    if not cells:
        return HourlyBias()
    floor = min_share * max(fe for fe, _ in cells.values())
    usable = {k: (fe, ae) for k, (fe, ae) in cells.items() if fe > 0 and fe >= floor}
    if not usable:
        return HourlyBias()
    ratios = list(usable.values())
    overall = _clip(weighted_median([ae / fe for fe, ae in ratios], [fe for fe, _ in ratios]))
    by_hour: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for (_, hour), (fe, ae) in usable.items():
        by_hour[hour].append((ae / fe, fe))
    factors = {
        hour: _clip(weighted_median([r for r, _ in rs], [w for _, w in rs]))
        for hour, rs in sorted(by_hour.items())
        if len(rs) >= min_days
    }
    return HourlyBias(factors, overall, len({d for d, _ in usable}))


@dataclass
class DayAccuracy:
    """Forecast against measurement for one local day (only measured slots count)."""

    date: str  #: local date YYYY-MM-DD
    slots: int  #: slots with both forecast and measurement
    forecast_kwh: float  #: [kWh]
    actual_kwh: float  #: [kWh]
    energy_error_kwh: float  #: forecast − actual [kWh]
    mae_w: float  #: mean absolute error per slot [W]
    persistence_mae_w: float | None  #: MAE of "same as yesterday" [W]; None without yesterday
    skill: float | None  #: 1 − mae / persistence_mae; > 0 beats persistence


def accuracy_by_day(
    forecast: Iterable[tuple[datetime, float]],
    actual: Iterable[tuple[datetime, float]],
    tz: str,
) -> list[DayAccuracy]:
    """Per local day: energy error, MAE and skill against persistence (yesterday's measurement at
    the same local quarter-hour)."""
    actual_list = [(t, a) for t, a in actual if a is not None]
    by_quarter = {(local_date(t, tz), local_quarter(t, tz)): a for t, a in actual_list}
    days: dict[date, list[tuple[datetime, float, float]]] = defaultdict(list)
    for t, f, a in _paired(forecast, actual_list):
        days[local_date(t, tz)].append((t, f, a))
    report = []
    for day in sorted(days):
        rows = days[day]
        fe = sum(f for _, f, _ in rows) * SLOT_H / 1000.0
        ae = sum(a for _, _, a in rows) * SLOT_H / 1000.0
        mae = sum(abs(f - a) for _, f, a in rows) / len(rows)
        prev = day - timedelta(days=1)
        pers = [
            abs(by_quarter[(prev, local_quarter(t, tz))] - a)
            for t, _, a in rows
            if (prev, local_quarter(t, tz)) in by_quarter
        ]
        p_mae = sum(pers) / len(pers) if len(pers) >= len(rows) // 2 and pers else None
        skill = 1.0 - mae / p_mae if p_mae else None
        report.append(DayAccuracy(day.isoformat(), len(rows), fe, ae, fe - ae, mae, p_mae, skill))
    return report


def summarise(days: Sequence[DayAccuracy]) -> dict[str, float | int | None]:
    """Totals over a report: energy error, mean MAE, skill = 1 − ΣMAE/ΣMAE_persistence."""
    if not days:
        return {"days": 0, "energy_error_kwh": None, "mae_w": None, "skill": None}
    with_p = [d for d in days if d.persistence_mae_w]
    p_sum = sum(d.persistence_mae_w or 0.0 for d in with_p)
    return {
        "days": len(days),
        "forecast_kwh": sum(d.forecast_kwh for d in days),
        "actual_kwh": sum(d.actual_kwh for d in days),
        "energy_error_kwh": sum(d.energy_error_kwh for d in days),
        "mae_w": sum(d.mae_w for d in days) / len(days),
        "skill": 1.0 - sum(d.mae_w for d in with_p) / p_sum if p_sum else None,
    }
