"""Optimality, not just validity: on tiny random cases (two programs, in half of them a water heater;
a 10 A single-phase fuse, a capacity tariff, negative prices, export) the plan's cost equals the
cheapest of all start pairs and heating patterns, enumerated and priced by the independent checker."""

from __future__ import annotations

import copy
import itertools
import random
from typing import Any

import pytest
from checker import capacity_cost, check_plan
from optimiser_helpers import tiny

from optimiser.plan import plan_scenario

T0 = "2026-01-15T00:00:00+01:00"


def _case(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    n = 6
    sc = tiny(
        n,
        [round(rng.uniform(-0.3, 2.0), 2) for _ in range(n)],
        base_load_kw=[round(rng.uniform(0.0, 1.5), 2) for _ in range(n)],
        pv_kw=[round(rng.uniform(0.0, 2.0), 2) if rng.random() < 0.5 else 0.0 for _ in range(n)],
        export_price_per_kwh=[round(rng.uniform(-0.1, 0.5), 2) for _ in range(n)],
    )
    sc["site"] = {"timezone": "Europe/Oslo", "network": "1P", "voltage_v": 230, "main_fuse_a": 10}
    sc["appliance"] = [
        {
            "id": f"p{k}",
            "kind": "shiftable",
            "profile_kw": [round(rng.uniform(0.3, 1.5), 2) for _ in range(rng.randint(1, 3))],
            "earliest_start": T0,
            "latest_end": "2026-01-15T06:00:00+01:00",
        }
        for k in range(2)
    ]
    if seed % 2:
        sc["appliance"].append(
            {
                "id": "wh",
                "kind": "thermal",
                "power_kw": 1.0,
                "capacity_kwh": 2.5,
                "initial_kwh": round(rng.uniform(0.5, 2.0), 2),
                "min_kwh": 0.5,
                "loss_kw": 0.05,
                "draw_kwh": [round(rng.uniform(0.0, 0.6), 2) for _ in range(n)],
            }
        )
    sc["capacity_tariff"] = {
        "step_upper_kw": [1.0, 2.0],
        "step_price": [10.0, 10.0 + rng.choice([0.5, 2.0, 8.0]), 30.0],
        "month_peaks_kw": [round(rng.uniform(0.5, 3.0), 1) for _ in range(rng.randint(0, 3))],
    }
    return sc


def _tank_ok(tanks: list[dict[str, Any]], pattern: tuple[int, ...]) -> bool:
    """Does this on/off pattern (1 kW, hourly) keep the tank within [min_kwh, capacity_kwh]?"""
    for tank in tanks:
        stored = tank["initial_kwh"]
        for t, on in enumerate(pattern):
            stored += on * tank["power_kw"] - tank["loss_kw"] - tank["draw_kwh"][t]
            if not tank["min_kwh"] - 1e-9 <= stored <= tank["capacity_kwh"] + 1e-9:
                return False
    return True


def _brute_force(sc: dict[str, Any]) -> float:
    n = sc["horizon"]["slots"]
    series = sc["series"]
    best = float("inf")
    apps = [a for a in sc["appliance"] if a["kind"] == "shiftable"]
    tanks = [a for a in sc["appliance"] if a["kind"] == "thermal"]
    ranges = [range(0, n - len(a["profile_kw"]) + 1) for a in apps]
    heating = [pattern for pattern in itertools.product((0, 1), repeat=n) if _tank_ok(tanks, pattern)]
    for starts, pattern in itertools.product(itertools.product(*ranges), heating if tanks else [(0,) * n]):
        net = [series["base_load_kw"][t] - series["pv_kw"][t] + pattern[t] for t in range(n)]
        for a, s in zip(apps, starts, strict=True):
            for k, kw in enumerate(a["profile_kw"]):
                net[s + k] += kw
        if any(abs(x) * 1000 / 230 > 10 + 1e-9 for x in net):
            continue  # the fuse
        imp = [max(x, 0.0) for x in net]
        exp = [max(-x, 0.0) for x in net]
        pi, pe = series["import_price_per_kwh"], series["export_price_per_kwh"]
        energy = sum(imp[t] * pi[t] - exp[t] * pe[t] for t in range(n))
        best = min(best, energy + capacity_cost(sc, imp))
    return best


@pytest.mark.parametrize("seed", range(24))
def test_plan_is_the_cheapest_of_all_start_pairs(seed: int) -> None:
    sc = _case(seed)
    expected = _brute_force(sc)
    result = plan_scenario(copy.deepcopy(sc), gap=0.0)
    assert check_plan(sc, result) == []
    if expected == float("inf"):  # no start pair and heating pattern keeps every rule
        assert result["status"] == "relaxed"
        return
    assert result["status"] == "optimal"
    assert result["objective"] == pytest.approx(expected, abs=1e-6)
