"""The capacity part (kapasitetsledd / fastledd): measuring the figure that picks the step.

Hour values: the energy of each clock hour [kWh], i.e. its mean power [kW]; "5 kW for half an
hour is 2.5 kW". An hour with only some slots in the series counts the slots it has. Clock hours
are UTC hours, which are the local clock hours in every European time zone (whole-hour offsets);
on the day clocks go back the repeated hour is two hours, as the meters count it.

Methods (fri-nettleie names): ``TRE_DØGNMAX_MND`` mean of the three highest daily maxima of the
month (padded with zeros to three, as in the scenario format); ``UKJENT`` the same (the usual rule);
``MND_MAX`` the highest hour of the month; ``FEM_VEKTET_ÅR`` the five highest weighted weekly
maxima of the last 12 months, each hour weighted by its own month (``data/capacity_methods.toml``);
``OV_TREFASE`` the main fuse [A], not a measured power.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

from tariffs.grid import CapacityRule
from tariffs.series import EnergySeries


@lru_cache(maxsize=1)
def method_parameters() -> dict[str, Any]:
    text = files("tariffs").joinpath("data/capacity_methods.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def hourly_kwh(energy: EnergySeries) -> dict[datetime, float]:
    """Imported energy per clock hour [kWh] (= mean power over the hour [kW]), keyed by UTC start."""
    hours: dict[datetime, float] = defaultdict(float)
    for t, e in zip(energy.slot_starts(), energy.e_import_kwh, strict=True):
        hours[t.replace(minute=0)] += e
    return dict(hours)


def daily_peaks_kw(energy: EnergySeries, tz: str) -> dict[date, float]:
    """Each local calendar day's highest hour value [kW] (døgnmaks)."""
    zone = ZoneInfo(tz)
    peaks: dict[date, float] = {}
    for t, e in hourly_kwh(energy).items():
        d = t.astimezone(zone).date()
        peaks[d] = max(peaks.get(d, 0.0), e)
    return peaks


def mean_of_top(values: list[float], k: int) -> float:
    """Mean of the ``k`` largest values, padded with zeros to ``k`` [same unit]."""
    top = sorted(values, reverse=True)[:k]
    return sum(top) / k


def weekly_weighted_peaks_kw(energy: EnergySeries, tz: str) -> dict[date, float]:
    """Each local week's (Monday to Sunday) highest weighted hour value [kW]: every hour is weighted
    by its own month's weight, so a week across a month boundary mixes two weights."""
    weights = method_parameters()["fem_vektet_ar"]["month_weights"]
    zone = ZoneInfo(tz)
    weeks: dict[date, float] = {}
    for t, e in hourly_kwh(energy).items():
        local = t.astimezone(zone)
        d = local.date()
        monday = d - timedelta(days=d.weekday())
        weeks[monday] = max(weeks.get(monday, 0.0), e * float(weights[local.month - 1]))
    return weeks


def capacity_figure(
    rule: CapacityRule,
    month_energy: EnergySeries,
    tz: str,
    *,
    main_fuse_a: float | None = None,
    year_energy: EnergySeries | None = None,
) -> float:
    """The figure the step is chosen by, for one month [kW; A for OV_TREFASE].

    ``month_energy``: the month's consumption (or the part of it known); ``year_energy``: the
    last 12 months up to the month's end, for FEM_VEKTET_ÅR (default: the month alone).
    """
    if rule.method == "OV_TREFASE":
        if main_fuse_a is None:
            raise ValueError("this grid tariff prices by main fuse size: set [tariff].main_fuse_a")
        return float(main_fuse_a)
    if rule.method == "FEM_VEKTET_ÅR":
        weeks = weekly_weighted_peaks_kw(year_energy or month_energy, tz)
        return mean_of_top(list(weeks.values()), int(method_parameters()["fem_vektet_ar"]["weeks"]))
    peaks = list(daily_peaks_kw(month_energy, tz).values())
    if rule.method == "MND_MAX":
        return max(peaks, default=0.0)
    return mean_of_top(peaks, 3)  # TRE_DØGNMAX_MND and UKJENT


def month_bounds(year: int, month: int, tz: str) -> tuple[datetime, datetime]:
    """UTC start and end of a local calendar month."""
    zone = ZoneInfo(tz)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)
