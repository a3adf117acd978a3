"""Base-load forecast for the optimiser from the household's own history. Pure standard library.

History model: the mean of the same local weekday at the same local quarter-hour over the last
``weeks`` weeks (workday/weekend class when that weekday has fewer than 2 days). With temperatures
for the history and the target day, daily energy is fitted as ``a + b·HDD`` (heating degrees below
17 °C, the Norwegian "graddag" base) and ``b·(HDD_target − HDD_history)`` is added to every slot
(heating is spread over the day far more evenly than cooking or laundry). Without enough history
(< ``min_days`` complete days) a typical Norwegian profile (`TYPICAL_WORKDAY`, `TYPICAL_WEEKEND`,
`MONTH_FACTOR`, ``annual_kwh``) is used, scaled to the measured mean where at least one day was
measured. See docs/forecast.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from statistics import fmean

from optimiser.forecast.slots import local_date, local_quarter

HDD_BASE_C = 17.0  #: heating threshold [°C]
ANNUAL_KWH = 16_000.0  #: a typical Norwegian detached home with electric heating [kWh/yr]
#: Relative hourly load (local hours 0..23), normalised at use. Approximation: night trough,
#: morning peak 07–08, evening peak 17–20 (cooking, hot water, heating), as in Nordic household
#: load studies; see docs/forecast.md.
TYPICAL_WORKDAY = (0.75, 0.70, 0.68, 0.67, 0.68, 0.75, 0.95, 1.20, 1.20, 1.05, 0.95, 0.92,
                   0.92, 0.90, 0.92, 1.00, 1.15, 1.30, 1.35, 1.30, 1.25, 1.15, 1.00, 0.85)  # fmt: skip
TYPICAL_WEEKEND = (0.80, 0.74, 0.70, 0.68, 0.68, 0.70, 0.75, 0.85, 1.00, 1.15, 1.20, 1.20,
                   1.15, 1.10, 1.05, 1.05, 1.15, 1.30, 1.35, 1.30, 1.22, 1.12, 1.00, 0.88)  # fmt: skip
#: Month (1..12) relative to the annual mean, normalised at use: electric space heating dominates.
MONTH_FACTOR = (1.45, 1.38, 1.22, 1.00, 0.80, 0.65, 0.60, 0.65, 0.80, 1.00, 1.20, 1.40)


@dataclass
class LoadForecast:
    load_w: list[float]  #: mean base load per slot [W]
    source: str  #: "history", "history+temperature", "fallback-profile", "fallback-profile-scaled"
    days_used: int  #: history days behind the profile
    note: str  #: one line a person can read


def _hdd(temp_c: float) -> float:
    return max(0.0, HDD_BASE_C - temp_c)


def typical_profile(slot_starts: Sequence[datetime], tz: str, annual_kwh: float = ANNUAL_KWH) -> list[float]:
    """The fallback profile [W] for the given slots: annual mean × month factor × hour shape."""
    mean_w = annual_kwh * 1000.0 / 8760.0
    month_norm = fmean(MONTH_FACTOR)
    out = []
    for t in slot_starts:
        d = local_date(t, tz)
        shape = TYPICAL_WEEKEND if d.weekday() >= 5 else TYPICAL_WORKDAY
        hour = local_quarter(t, tz) // 4
        out.append(mean_w * MONTH_FACTOR[d.month - 1] / month_norm * shape[hour] / fmean(shape))
    return out


def _daily_means(series: Sequence[tuple[datetime, float]], tz: str) -> dict[date, float]:
    days: dict[date, list[float]] = defaultdict(list)
    for t, v in series:
        days[local_date(t, tz)].append(v)
    return {d: fmean(vs) for d, vs in days.items()}


def fit_degree_day(load: dict[date, float], temp: dict[date, float]) -> tuple[float, float] | None:
    """Least squares ``daily mean load [W] = a + b·HDD`` over days with both; None if ill-posed."""
    pairs = [(_hdd(temp[d]), w) for d, w in load.items() if d in temp]
    if len(pairs) < 5:
        return None
    mx, my = fmean(x for x, _ in pairs), fmean(y for _, y in pairs)
    sxx = sum((x - mx) ** 2 for x, _ in pairs)
    if sxx < 1.0 * len(pairs):  # HDD spread under ~1 °C: the slope is noise
        return None
    b = sum((x - mx) * (y - my) for x, y in pairs) / sxx
    return (my - b * mx, b) if b > 0 else None


def forecast_load(
    history: Sequence[tuple[datetime, float]],
    slot_starts: Sequence[datetime],
    tz: str,
    *,
    weeks: int = 6,
    min_days: int = 7,
    temperature_history: Sequence[tuple[datetime, float]] | None = None,
    temperature_forecast_c: Sequence[float | None] | None = None,
    annual_kwh: float = ANNUAL_KWH,
) -> LoadForecast:
    """Base load per target slot [W] from ``history`` (quarter-hour slot start UTC, mean W)."""
    target = local_date(slot_starts[len(slot_starts) // 2], tz)
    by_day: dict[date, dict[int, float]] = defaultdict(dict)
    for t, v in history:
        d = local_date(t, tz)
        if v is not None and 0 < (target - d).days <= weeks * 7:
            by_day[d][local_quarter(t, tz)] = v
    complete = {d: q for d, q in by_day.items() if len(q) >= 80}  # ≥ 20 of 24 h measured
    if len(complete) < min_days:
        return _fallback(by_day, slot_starts, tz, annual_kwh)
    same = [d for d in complete if d.weekday() == target.weekday()]
    if len(same) < 2:
        weekend = target.weekday() >= 5
        same = [d for d in complete if (d.weekday() >= 5) == weekend]
    quarters = [local_quarter(t, tz) for t in slot_starts]
    profile = []
    for q in quarters:
        vals = [complete[d][q] for d in same if q in complete[d]]
        if not vals:  # e.g. a quarter only the fall-back day has: use the neighbouring hour
            vals = [v for d in same for k, v in complete[d].items() if k // 4 == q // 4 - 1]
        profile.append(fmean(vals) if vals else fmean(v for d in same for v in complete[d].values()))
    note = f"mean of {len(same)} similar days in the last {weeks} weeks"
    shift = _temperature_shift(same, temperature_history, temperature_forecast_c, complete, tz)
    if shift is None:
        return LoadForecast(profile, "history", len(same), note)
    return LoadForecast(
        [max(0.0, v + shift) for v in profile],
        "history+temperature",
        len(same),
        f"{note}, {shift:+.0f} W for the forecast temperature (degree-day fit)",
    )


def _temperature_shift(
    same: list[date],
    temperature_history: Sequence[tuple[datetime, float]] | None,
    temperature_forecast_c: Sequence[float | None] | None,
    complete: dict[date, dict[int, float]],
    tz: str,
) -> float | None:
    """``b·(HDD_target − mean HDD of the profile's days)`` [W], or None without usable data."""
    if not temperature_history or not temperature_forecast_c:
        return None
    known = [t for t in temperature_forecast_c if t is not None]
    if not known:
        return None
    temp_by_day = _daily_means(temperature_history, tz)
    fit = fit_degree_day({d: fmean(q.values()) for d, q in complete.items()}, temp_by_day)
    used = [d for d in same if d in temp_by_day]
    if fit is None or not used:
        return None
    _, b = fit
    return b * (_hdd(fmean(known)) - fmean(_hdd(temp_by_day[d]) for d in used))


def _fallback(
    by_day: dict[date, dict[int, float]], slot_starts: Sequence[datetime], tz: str, annual_kwh: float
) -> LoadForecast:
    profile = typical_profile(slot_starts, tz, annual_kwh)
    measured = [(d, q, v) for d, qs in by_day.items() for q, v in qs.items()]
    if len(measured) < 96:
        return LoadForecast(
            profile, "fallback-profile", 0, f"typical Norwegian profile, {annual_kwh:.0f} kWh/yr"
        )
    ref = []
    for d, q, _ in measured:  # the fallback profile at the measured slots, same month/day type
        shape = TYPICAL_WEEKEND if d.weekday() >= 5 else TYPICAL_WORKDAY
        month = MONTH_FACTOR[d.month - 1] / fmean(MONTH_FACTOR)
        ref.append(annual_kwh * 1000.0 / 8760.0 * month * shape[q // 4] / fmean(shape))
    scale = fmean(v for _, _, v in measured) / fmean(ref)
    return LoadForecast(
        [v * scale for v in profile],
        "fallback-profile-scaled",
        len(by_day),
        f"typical Norwegian profile scaled ×{scale:.2f} to {len(by_day)} measured day(s)",
    )
