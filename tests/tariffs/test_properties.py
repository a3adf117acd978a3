"""Properties that hold for any consumption and prices (hypothesis, small examples)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tariffs.config import TariffConfig
from tariffs.cost import cost, slice_energy
from tariffs.household import household_tariff
from tariffs.series import EnergySeries, PriceSeries

OSLO = ZoneInfo("Europe/Oslo")
START = datetime(2026, 3, 28, 12, tzinfo=OSLO)  # spans the spring DST change
HOUSEHOLD = household_tariff(TariffConfig(grid_company="Elvia", supplier_markup_per_kwh=0.01))

kwh = st.floats(min_value=0.0, max_value=3.0, allow_nan=False)
price = st.floats(min_value=-0.5, max_value=4.0, allow_nan=False)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(kwh, kwh, price), min_size=8, max_size=120), st.integers(1, 7))
def test_energy_cost_is_additive_over_slots(rows: list[tuple[float, float, float]], cut: int) -> None:
    imp, exp, prices = (list(x) for x in zip(*rows, strict=True))
    energy = EnergySeries(START, 15, imp, exp)
    spot = PriceSeries(START, 15, prices)
    whole = cost(HOUSEHOLD, energy, spot)
    at = energy.start + timedelta(minutes=15 * cut)
    a = cost(HOUSEHOLD, slice_energy(energy, energy.start, at), spot)
    b = cost(HOUSEHOLD, slice_energy(energy, at, energy.end), spot)
    assert abs(whole.energy_cost - (a.energy_cost + b.energy_cost)) < 1e-9
    assert len(whole.slots) == len(rows)


@settings(max_examples=30, deadline=None)
@given(st.lists(price, min_size=4, max_size=48))
def test_energy_cost_is_linear_below_the_cap_and_positive_above_the_threshold(prices: list[float]) -> None:
    spot = PriceSeries(START, 15, prices)
    low = cost(HOUSEHOLD, EnergySeries(START, 15, [0.5] * len(prices)), spot)
    high = cost(HOUSEHOLD, EnergySeries(START, 15, [1.0] * len(prices)), spot)
    for lo, hi in zip(low.import_cost, high.import_cost, strict=True):
        assert abs(hi - 2 * lo) < 1e-12
    # strømstøtte pays 90 % of the part of the HOURLY price above the threshold, never more: with
    # hourly prices above it the import price stays > 0. (With quarter-hour prices a cheap quarter in
    # an expensive hour can go below 0: the support follows the hour's mean.)
    hourly = PriceSeries(START, 60, prices)
    per_hour = cost(HOUSEHOLD, EnergySeries(START, 60, [1.0] * len(prices)), hourly)
    for c, s in zip(per_hour.import_cost, prices, strict=True):
        if s > 0.77:
            assert c > 0
