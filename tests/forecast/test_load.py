"""Load forecast: recovers a synthetic household's profile; temperature; the new-household fallback."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from statistics import fmean

import pytest

from optimiser.forecast.load import ANNUAL_KWH, forecast_load, typical_profile
from optimiser.forecast.slots import day_slots, local_date, local_quarter

TZ = "Europe/Oslo"


def household_w(t: datetime) -> float:
    """Known profile [W]: base, morning and evening peaks; Saturdays a sauna in the afternoon."""
    q, d = local_quarter(t, TZ), local_date(t, TZ)
    h = q // 4
    w = 400.0 + (1500.0 if 7 <= h < 9 else 0.0) + (2000.0 if 17 <= h < 21 else 0.0)
    if d.weekday() == 5 and 14 <= h < 17:
        w += 6000.0
    return w


def series(first: date, days: int, f, noise: float = 0.0) -> list[tuple[datetime, float]]:
    rng = random.Random(3)
    out = []
    for k in range(days):
        for t in day_slots(first + timedelta(days=k), TZ):
            out.append((t, f(t) * (1 + rng.uniform(-noise, noise))))
    return out


@pytest.mark.parametrize("target", [date(2026, 2, 14), date(2026, 2, 18), date(2026, 3, 29)])
def test_history_profile_is_recovered(target: date) -> None:
    hist = series(target - timedelta(days=42), 42, household_w, noise=0.05)
    slots = day_slots(target, TZ)
    got = forecast_load(hist, slots, TZ)
    assert got.source == "history" and got.days_used == 6
    assert len(got.load_w) == len(slots)  # 92 on the spring-forward day
    for t, w in zip(slots, got.load_w, strict=True):
        assert w == pytest.approx(household_w(t), rel=0.05)  # the mean of ±5 % noise


def test_fall_back_day_has_100_slots_from_history() -> None:
    target = date(2026, 10, 25)
    got = forecast_load(series(target - timedelta(days=42), 42, household_w), day_slots(target, TZ), TZ)
    assert len(got.load_w) == 100
    assert got.load_w[9] == pytest.approx(400.0)  # the repeated 02:xx hour is night base load


def test_temperature_aware_scaling() -> None:
    first, target = date(2026, 1, 1), date(2026, 2, 12)
    temp_c = {first + timedelta(days=k): -8.0 + (k * 7) % 19 for k in range(42)}  # −8..10 °C

    def with_heating(t: datetime) -> float:
        return household_w(t) + 90.0 * max(0.0, 17.0 - temp_c[local_date(t, TZ)])

    hist = series(first, 42, with_heating)
    temps = [(t, temp_c[local_date(t, TZ)]) for t, _ in hist]
    slots = day_slots(target, TZ)
    cold = forecast_load(hist, slots, TZ, temperature_history=temps, temperature_forecast_c=[-15.0] * 96)
    assert cold.source == "history+temperature"
    want = fmean(household_w(t) for t in slots) + 90.0 * 32.0
    assert fmean(cold.load_w) == pytest.approx(want, rel=0.02)
    plain = forecast_load(hist, slots, TZ)
    assert plain.source == "history" and fmean(plain.load_w) < 0.8 * fmean(cold.load_w)


def test_new_household_gets_the_typical_profile_scaled_by_season() -> None:
    got = forecast_load([], day_slots(date(2026, 1, 14), TZ), TZ)
    assert got.source == "fallback-profile"
    summer = forecast_load([], day_slots(date(2026, 7, 15), TZ), TZ)
    assert sum(got.load_w) > 2 * sum(summer.load_w)
    evening = got.load_w[18 * 4] / got.load_w[3 * 4]
    assert evening > 1.8  # evening peak against the night trough
    year = [t for k in range(365) for t in day_slots(date(2026, 1, 1) + timedelta(days=k), TZ)]
    assert sum(typical_profile(year, TZ)) * 0.25 / 1000 == pytest.approx(ANNUAL_KWH, rel=0.01)


def test_a_few_measured_days_scale_the_typical_profile() -> None:
    first = date(2026, 3, 2)
    twice = series(first, 3, lambda t: 2.0 * typical_profile([t], TZ)[0])
    got = forecast_load(twice, day_slots(date(2026, 3, 5), TZ), TZ)
    assert got.source == "fallback-profile-scaled" and got.days_used == 3
    assert fmean(got.load_w) == pytest.approx(
        2.0 * fmean(typical_profile(day_slots(date(2026, 3, 5), TZ), TZ))
    )
