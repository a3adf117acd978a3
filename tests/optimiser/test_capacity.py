"""The stepped capacity tariff: step boundary, clock-hour means, DST days, month boundary."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optimiser_helpers import solve_checked, tiny

T0 = "2026-01-15T00:00:00+01:00"


def _ev_with_steps(step_price: list[float]) -> dict[str, Any]:
    sc = tiny(2, [1.0, 2.0])
    sc["appliance"] = [
        {
            "id": "ev",
            "kind": "energy",
            "energy_kwh": 8.0,
            "max_kw": 8.0,
            "earliest_start": T0,
            "latest_end": "2026-01-15T02:00:00+01:00",
        }
    ]
    sc["capacity_tariff"] = {
        "step_upper_kw": [2, 5],
        "step_price": step_price,
        "month_peaks_kw": [4.5, 4.5, 4.5],
    }
    return sc


def test_plan_stays_exactly_on_the_step_boundary_when_crossing_costs_more() -> None:
    # recorded mean 4.5; today's peak p keeps the step while (4.5 + 4.5 + p)/3 <= 5, i.e. p <= 6
    r = solve_checked(_ev_with_steps([100, 200, 400]))
    assert r["appliances"]["ev"]["power_kw"] == pytest.approx([6.0, 2.0])
    assert r["capacity_cost"] == 0.0
    assert r["objective"] == pytest.approx(6.0 * 1 + 2.0 * 2)
    assert r["explanation"]["limits"]["capacity"][0]["margin_kw"] == pytest.approx(0.0, abs=1e-6)


def test_plan_crosses_the_step_when_the_next_step_is_cheap_enough() -> None:
    r = solve_checked(_ev_with_steps([100, 200, 201]))
    assert r["appliances"]["ev"]["power_kw"] == pytest.approx([8.0, 0.0])
    assert r["capacity_cost"] == pytest.approx(1.0)
    assert r["objective"] == pytest.approx(8.0 + 1.0)


def test_a_day_peak_counted_three_times_is_never_a_free_high_day() -> None:
    # a quiet month so far (4.5 on one day): with the horizon's day counted once, the EV's 8 kW hour
    # keeps the month under 5 kW ((8 + 4.5 + 0)/3 = 4.2); counted as the days to come (three
    # times), 8 kW is the month's level, so the plan keeps the hour at 5 kW and pays for energy
    sc = _ev_with_steps([100, 200, 400])
    sc["capacity_tariff"]["month_peaks_kw"] = [4.5]
    once = solve_checked(sc)
    assert once["appliances"]["ev"]["power_kw"] == pytest.approx([8.0, 0.0])
    sc["capacity_tariff"]["peak_repeats"] = 3
    thrice = solve_checked(sc)
    assert thrice["appliances"]["ev"]["power_kw"] == pytest.approx([5.0, 3.0])
    assert once["capacity_cost"] == thrice["capacity_cost"] == 100.0  # 0–2 kW → 2–5 kW either way
    assert thrice["objective"] == pytest.approx(5.0 * 1 + 3.0 * 2 + 100.0)


def _quarter_hours(start: str, n: int, base: list[float], upper: float) -> dict[str, Any]:
    return {
        "horizon": {"start": start, "slots": n, "slot_minutes": 15},
        "site": {"timezone": "Europe/Oslo", "network": "TN", "voltage_v": 230},
        "series": {"import_price_per_kwh": [1.0] * n, "base_load_kw": base},
        "capacity_tariff": {"step_upper_kw": [upper], "step_price": [0, 100], "month_peaks_kw": []},
    }


def test_day_peak_is_the_clock_hour_mean_not_the_slot_peak() -> None:
    base = [6.0] + [0.0] * 7  # one quarter at 6 kW: the hour's mean is 1.5 kW
    r = solve_checked(_quarter_hours(T0, 8, base, 0.5))  # A = 1.5/3 = 0.5 <= 0.5
    assert r["capacity_cost"] == 0.0
    r = solve_checked(_quarter_hours(T0, 8, base, 0.49))
    assert r["capacity_cost"] == 100.0


def test_hour_cut_by_the_horizon_is_the_mean_of_its_slots_inside() -> None:
    base = [4.0, 4.0] + [0.0] * 6  # 00:30-01:00 at 4 kW: that hour counts 4 kW, not 2
    r = solve_checked(_quarter_hours("2026-01-15T00:30:00+01:00", 8, base, 1.0))  # A = 4/3
    assert r["capacity_cost"] == 100.0


def test_today_peak_counts_for_the_first_day() -> None:
    sc = _quarter_hours(T0, 4, [0.0] * 4, 1.0)
    sc["capacity_tariff"]["today_peak_kw"] = 3.3  # A = 1.1 > 1.0
    assert solve_checked(sc)["capacity_cost"] == 100.0


def test_spring_dst_day_has_92_quarter_hours() -> None:
    r = solve_checked(_quarter_hours("2026-03-29T00:00:00+01:00", 92, [1.0] * 92, 1.0))
    assert r["slots"][7] == "2026-03-29T01:45:00+01:00"
    assert r["slots"][8] == "2026-03-29T03:00:00+02:00"
    assert r["slots"][-1] == "2026-03-29T23:45:00+02:00"
    assert r["energy_cost"] == pytest.approx(92 * 0.25)


def test_autumn_dst_day_counts_the_repeated_hour_twice() -> None:
    base = [0.0] * 100
    base[12:16] = [4.0] * 4  # the second 02:00 (+01:00) at 4 kW, the first 02:00 (+02:00) idle
    r = solve_checked(_quarter_hours("2026-10-25T00:00:00+02:00", 100, base, 1.0))
    assert r["slots"][8] == "2026-10-25T02:00:00+02:00"
    assert r["slots"][12] == "2026-10-25T02:00:00+01:00"
    assert r["slots"][-1] == "2026-10-25T23:45:00+01:00"
    assert r["capacity_cost"] == 100.0  # A = 4/3; one merged hour would have given 2/3


def test_horizon_crossing_a_month_starts_a_new_set_of_peaks() -> None:
    sc = tiny(24, [1.0] * 24, base_load_kw=[3.0] * 24)
    sc["horizon"]["start"] = "2026-01-31T12:00:00+01:00"
    sc["capacity_tariff"] = {
        "step_upper_kw": [0.5, 2],
        "step_price": [10, 20, 30],
        "month_peaks_kw": [3, 3, 3],
    }
    r = solve_checked(sc)  # January stays at mean 3 (no change); February: mean 3/3 = 1 → 20 − 10
    assert r["capacity_cost"] == pytest.approx(10.0)
    assert r["objective"] == pytest.approx(72.0 + 10.0)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["2026-10-24T00:00:00+02:00", "2026-03-28T00:00:00+01:00", "2026-01-30T06:00:00+01:00"]),
    st.sampled_from([15, 60]),
    st.data(),
)
def test_hourly_means_taken_at_once_equal_the_contracts_words(start: str, minutes: int, data: Any) -> None:
    """`capacity_cost` takes every clock hour's mean in one pass (a week's explanation called np.mean
    300 000 times); across DST days and a month's end it equals the checker's hour-by-hour sums."""
    from checker import capacity_cost as by_the_contract

    from optimiser.evaluate import capacity_cost
    from optimiser.problem import resolve
    from optimiser.scenario import parse_scenario

    n = 3 * 24 * 60 // minutes
    scenario = tiny(n, [1.0] * n)
    scenario["horizon"] |= {"start": start, "slot_minutes": minutes}
    scenario["capacity_tariff"] = {
        "step_upper_kw": [2, 5, 10],
        "step_price": [100, 200, 340, 470],
        "month_peaks_kw": data.draw(st.lists(st.floats(0, 12), max_size=3)),
        "today_peak_kw": data.draw(st.floats(0, 8)),
    }
    imports = data.draw(st.lists(st.floats(0, 15), min_size=n, max_size=n))
    problem = resolve(parse_scenario(scenario))
    imp = np.array(imports)
    got, months = capacity_cost(problem, imp)
    assert got == pytest.approx(by_the_contract(scenario, imports), abs=1e-9)
    assert problem.capacity is not None
    for month, detail in zip(problem.capacity.months, months, strict=True):  # each day's peak, hour by hour
        one_by_one = [
            max([month.first_day_floor_kw if d == 0 else 0.0] + [float(np.mean(imp[list(hr)])) for hr in day])
            for d, day in enumerate(month.hours)
        ]
        assert detail.day_peaks_kw == pytest.approx(one_by_one, abs=1e-9)
