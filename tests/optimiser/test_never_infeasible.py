"""Never a bare "infeasible": random, often contradictory scenarios (windows outside the horizon,
tiny fuses, unreachable energy and SOC targets, negative prices) always come back with a plan that
the independent checker accepts, every broken rule listed in `relaxed`."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from checker import check_plan
from optimiser_helpers import tiny

from optimiser.plan import plan_scenario

DAY = "2026-01-15T{:02d}:00:00+01:00"


def _when(rng: random.Random) -> str:
    return DAY.format(rng.randint(0, 12))


def _window(rng: random.Random) -> tuple[str, str]:
    a, b = sorted(rng.sample(range(0, 14), 2))
    return DAY.format(a), DAY.format(b)


def _wild(seed: int) -> dict[str, Any]:
    rng = random.Random(1000 + seed)
    n = 8
    sc = tiny(
        n,
        [round(rng.uniform(-1.0, 3.0), 2) for _ in range(n)],
        base_load_kw=[round(rng.uniform(0.0, 4.0), 2) for _ in range(n)],
        pv_kw=[round(rng.uniform(0.0, 5.0), 2) for _ in range(n)],
        export_price_per_kwh=[round(rng.uniform(-0.5, 3.5), 2) for _ in range(n)],
    )
    network = rng.choice(["TN", "IT", "1P"])
    by_network = {"TN": ["L1", "L2", "L3", "3P"], "IT": ["L1L2", "L3L2", "L1L3", "3P"], "1P": ["L1", "3P"]}
    lines = by_network[network]
    sc["site"] = {"timezone": "Europe/Oslo", "network": network, "voltage_v": 230}
    if rng.random() < 0.8:
        sc["site"]["main_fuse_a"] = rng.choice([3, 8, 16, 25])
    apps: list[dict[str, Any]] = []
    for k in range(rng.randint(0, 2)):
        start, end = _window(rng)
        apps.append(
            {
                "id": f"prog{k}",
                "kind": "shiftable",
                "profile_kw": [round(rng.uniform(0.2, 3.0), 2) for _ in range(rng.randint(1, 4))],
                "earliest_start": start,
                "latest_end": end,
                "line": rng.choice(lines),
            }
        )
    if rng.random() < 0.7:
        start, end = _window(rng)
        apps.append(
            {
                "id": "ev",
                "kind": "energy",
                "energy_kwh": round(rng.uniform(0.0, 20.0), 1),
                "min_kw": rng.choice([0.0, 1.4]),
                "max_kw": rng.choice([3.7, 7.4]),
                "earliest_start": start,
                "latest_end": end,
                "line": rng.choice(lines),
            }
        )
    if rng.random() < 0.7:
        apps.append(
            {
                "id": "wh",
                "kind": "thermal",
                "power_kw": 2.0,
                "capacity_kwh": 6.0,
                "initial_kwh": round(rng.uniform(0.0, 6.0), 1),
                "min_kwh": round(rng.uniform(0.0, 4.0), 1),
                "loss_kw": 0.1,
                "draw_kwh": [round(rng.uniform(0.0, 2.5), 2) for _ in range(n)],
                "line": rng.choice(lines),
            }
        )
    sc["appliance"] = apps
    if rng.random() < 0.6:
        sc["battery"] = {
            "capacity_kwh": 5.0,
            "max_charge_kw": 3.0,
            "max_discharge_kw": 3.0,
            "efficiency": rng.choice([0.9, 1.0]),
            "initial_kwh": round(rng.uniform(0.0, 5.0), 1),
            "final_min_kwh": round(rng.uniform(0.0, 7.0), 1),
            "line": rng.choice(lines),
        }
    if rng.random() < 0.6:
        sc["capacity_tariff"] = {
            "step_upper_kw": [2, 5, 10],
            "step_price": [100, 200, 400, 800],
            "month_peaks_kw": [round(rng.uniform(0.0, 8.0), 1) for _ in range(rng.randint(0, 4))],
            "today_peak_kw": rng.choice([0.0, 3.0]),
        }
    return sc


@pytest.mark.parametrize("seed", range(16))
def test_contradictory_scenarios_still_get_a_checked_plan(seed: int) -> None:
    sc = _wild(seed)
    result = plan_scenario(copy.deepcopy(sc))
    assert result["status"] in ("optimal", "relaxed")
    assert check_plan(sc, result) == []


@pytest.mark.parametrize("seed", range(16))
def test_leaving_out_direction_binaries_loses_nothing(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The grid and battery direction binaries exist only where they can matter; with them in every
    slot (the obvious formulation) the optimum is the same."""
    import numpy as np

    import optimiser.model as model

    sc = _wild(seed)
    lean = plan_scenario(copy.deepcopy(sc), gap=0.0)
    monkeypatch.setattr(model, "grid_needs_direction", lambda p: np.ones(p.n, dtype=bool))
    monkeypatch.setattr(model, "battery_needs_direction", lambda p, base: np.ones(p.n, dtype=bool))
    full = plan_scenario(copy.deepcopy(sc), gap=0.0)
    assert check_plan(sc, full) == []
    assert lean["objective"] == pytest.approx(full["objective"], rel=1e-6, abs=1e-5)
