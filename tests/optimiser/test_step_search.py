"""The explicit branching on capacity steps finds the same optimum as one MIP choosing the steps."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from checker import check_plan
from optimiser_helpers import tiny

from optimiser.model import build_model
from optimiser.plan import plan_scenario
from optimiser.problem import resolve
from optimiser.scenario import parse_scenario
from optimiser.solve import _solve_once, solve_model

T0 = "2026-01-31T18:00:00+01:00"


def _random_scenario(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    n = 10  # 18:00 on 31 January to 04:00 on 1 February: two months
    sc = tiny(n, [round(rng.uniform(0.2, 2.0), 2) for _ in range(n)])
    sc["horizon"]["start"] = T0
    sc["series"]["base_load_kw"] = [round(rng.uniform(0.5, 3.0), 2) for _ in range(n)]
    sc["appliance"] = [
        {
            "id": "ev",
            "kind": "energy",
            "energy_kwh": rng.choice([4.0, 8.0, 12.0]),
            "min_kw": 1.4,
            "max_kw": 7.4,
            "earliest_start": T0,
            "latest_end": "2026-02-01T04:00:00+01:00",
        },
        {
            "id": "dw",
            "kind": "shiftable",
            "profile_kw": [2.0, 0.3, 1.8],
            "earliest_start": T0,
            "latest_end": "2026-02-01T04:00:00+01:00",
        },
    ]
    sc["battery"] = {
        "capacity_kwh": 6.0,
        "max_charge_kw": 3.0,
        "max_discharge_kw": 3.0,
        "efficiency": 0.95,
        "initial_kwh": 3.0,
        "final_min_kwh": 3.0,
    }
    sc["capacity_tariff"] = {
        "step_upper_kw": [2, 5, 10],
        "step_price": [100, 100 + rng.choice([5, 40, 200]), 400, 800],
        "month_peaks_kw": [round(rng.uniform(1.0, 6.0), 1) for _ in range(rng.randint(0, 4))],
    }
    return sc


@pytest.mark.parametrize("seed", range(6))
def test_step_search_matches_one_mip(seed: int) -> None:
    sc = _random_scenario(seed)
    problem = resolve(parse_scenario(copy.deepcopy(sc)))
    searched = solve_model(build_model(problem), gap=0.0)
    single = _solve_once(build_model(problem), gap=0.0, time_limit=30.0)
    assert searched.status == single.status == "optimal"
    assert searched.objective == pytest.approx(single.objective, rel=1e-6, abs=1e-6)
    result = plan_scenario(copy.deepcopy(sc), gap=0.0)
    assert check_plan(sc, result) == []
    assert result["objective"] == pytest.approx(single.objective, rel=1e-6, abs=1e-6)
