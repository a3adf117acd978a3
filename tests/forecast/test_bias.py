"""Bias correction recovers a known per-hour bias; the accuracy report on hand-checkable cases."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta

import pytest

from optimiser.forecast.bias import accuracy_by_day, fit_hourly_bias, summarise, weighted_median
from optimiser.forecast.slots import day_slots, local_hour

TZ = "Europe/Oslo"


def _bell(t: datetime) -> float:
    """A clear-sky-like PV curve [W]: 0 at night, 4 kW at local 12:00."""
    from zoneinfo import ZoneInfo

    lt = t.astimezone(ZoneInfo(TZ))
    h = lt.hour + lt.minute / 60 + 7.5 / 60
    return 4000.0 * max(0.0, math.sin(math.pi * (h - 4.0) / 16.0))


def true_factor(hour: int) -> float:
    """The known bias: the roof loses sun in the afternoon (a tree), mornings are slightly high."""
    return 1.05 if hour < 10 else (0.9 if hour < 14 else 0.6)


def history(days: int, first: date) -> tuple[list[tuple[datetime, float]], list[tuple[datetime, float]]]:
    rng = random.Random(7)
    fc, act = [], []
    for k in range(days):
        weather = rng.uniform(0.85, 1.0)  # day-to-day haze the forecast did not know
        for t in day_slots(first + timedelta(days=k), TZ):
            f = _bell(t)
            fc.append((t, f))
            a = f * true_factor(local_hour(t, TZ)) * weather * rng.uniform(0.95, 1.05)
            if k == 5:
                a = 0.0  # snow on the panels / inverter off: an outlier day
            if k == 9:
                a *= 0.3  # a thunderstorm day
            act.append((t, a))
    return fc, act


def test_weighted_median() -> None:
    assert weighted_median([1.0, 2.0, 10.0], [1, 1, 1]) == 2.0
    assert weighted_median([1.0, 2.0, 10.0], [1, 1, 5]) == 10.0
    with pytest.raises(ValueError):
        weighted_median([], [])


def test_fit_recovers_a_known_hourly_bias() -> None:
    fc, act = history(28, date(2026, 5, 1))
    bias = fit_hourly_bias(fc, act, TZ)
    assert bias.days == 28
    weather_mean = 0.925  # the median of the day-to-day haze factor above
    for hour in range(7, 19):
        assert bias.factors[hour] == pytest.approx(true_factor(hour) * weather_mean, abs=0.04), hour
    # applying it removes the hourly shape of the error
    day = day_slots(date(2026, 5, 29), TZ)
    corrected = bias.apply(day, [_bell(t) for t in day], TZ)
    for t, c in zip(day, corrected, strict=True):
        if 7 <= local_hour(t, TZ) < 19:
            assert c == pytest.approx(_bell(t) * true_factor(local_hour(t, TZ)) * weather_mean, rel=0.05)


def test_night_hours_and_missing_measurements() -> None:
    fc, act = history(10, date(2026, 5, 1))
    bias = fit_hourly_bias(fc, act[: len(act) // 2], TZ)  # only the first 5 days were measured
    assert bias.days == 5
    assert 0 not in bias.factors and 23 not in bias.factors  # no sun, no factor
    night = datetime.fromisoformat("2026-05-20T23:00:00+00:00")
    assert bias.factor(night, TZ) == bias.overall
    assert fit_hourly_bias([], [], TZ).overall == 1.0


def test_accuracy_per_day_and_skill_against_persistence() -> None:
    d1, d2 = day_slots(date(2026, 6, 1), TZ), day_slots(date(2026, 6, 2), TZ)
    actual = [(t, 1000.0) for t in d1] + [(t, 1200.0) for t in d2]
    forecast = [(t, 1100.0) for t in d1 + d2]
    days = accuracy_by_day(forecast, actual, TZ)
    assert [d.date for d in days] == ["2026-06-01", "2026-06-02"]
    first, second = days
    assert first.persistence_mae_w is None and first.skill is None  # no day before
    assert first.energy_error_kwh == pytest.approx(100.0 * 24 / 1000)
    assert first.mae_w == pytest.approx(100.0)
    assert second.actual_kwh == pytest.approx(1.2 * 24)
    assert second.persistence_mae_w == pytest.approx(200.0)
    assert second.skill == pytest.approx(0.5)
    total = summarise(days)
    assert total["days"] == 2 and total["skill"] == pytest.approx(0.5)
    assert total["energy_error_kwh"] == pytest.approx(2.4 - 2.4)
