"""Fuse limits per line on TN, IT and single-phase sites (10 A, 230 V), optima by hand."""

from __future__ import annotations

import math

import pytest
from optimiser_helpers import solve_checked, tiny

T0 = "2026-01-15T00:00:00+01:00"
T2 = "2026-01-15T02:00:00+01:00"


def _ev_site(network: str, line: str, energy_kwh: float, base: float = 0.0) -> dict[str, object]:
    sc = tiny(2, [1.0, 2.0], base_load_kw=[base, base])
    sc["site"] = {"timezone": "Europe/Oslo", "network": network, "voltage_v": 230, "main_fuse_a": 10}
    sc["appliance"] = [
        {
            "id": "ev",
            "kind": "energy",
            "energy_kwh": energy_kwh,
            "max_kw": 8.0,
            "earliest_start": T0,
            "latest_end": T2,
            "line": line,
        }
    ]
    return sc


def test_tn_single_phase_element_limited_to_v_times_fuse() -> None:
    r = solve_checked(_ev_site("TN", "L1", 3.0))  # 2.3 kW on L1 in the cheap hour, the rest later
    assert r["appliances"]["ev"]["power_kw"] == pytest.approx([2.3, 0.7])
    assert r["objective"] == pytest.approx(2.3 * 1 + 0.7 * 2)
    assert r["explanation"]["limits"]["fuse"]["L1"]["slots_at_limit"] == 1


def test_tn_three_phase_element_draws_a_third_per_line() -> None:
    r = solve_checked(_ev_site("TN", "3P", 8.0))  # 3·230·10 = 6.9 kW
    assert r["appliances"]["ev"]["power_kw"] == pytest.approx([6.9, 1.1])


def test_it_pair_element_draws_full_current_on_both_lines() -> None:
    r = solve_checked(_ev_site("IT", "L3L2", 3.0))  # written either way round
    assert r["appliances"]["ev"]["power_kw"] == pytest.approx([2.3, 0.7])
    assert r["explanation"]["limits"]["fuse"]["L2"]["slots_at_limit"] == 1
    assert r["explanation"]["limits"]["fuse"]["L3"]["slots_at_limit"] == 1


def test_it_three_phase_element_draws_p_over_root3_v() -> None:
    r = solve_checked(_ev_site("IT", "3P", 5.0))
    cap = math.sqrt(3) * 230 * 10 / 1000
    assert r["appliances"]["ev"]["power_kw"] == pytest.approx([cap, 5.0 - cap])
    assert r["objective"] == pytest.approx(cap + 2 * (5.0 - cap))


def test_single_phase_site_puts_everything_on_l1() -> None:
    r = solve_checked(_ev_site("1P", "3P", 3.0, base=0.3))  # 2.3 kW total, base 0.3 → EV 2.0
    assert r["appliances"]["ev"]["power_kw"] == pytest.approx([2.0, 1.0])
    assert r["objective"] == pytest.approx(0.3 + 2.0 + 2 * (0.3 + 1.0))
    assert list(r["explanation"]["limits"]["fuse"]) == ["L1"]


def test_pv_reverse_current_counts_against_the_fuse() -> None:
    sc = tiny(1, [1.0], pv_kw=[9.0])  # 9 kW PV on 3×10 A TN = 13 A per line reverse
    sc["site"] = {"timezone": "Europe/Oslo", "network": "TN", "voltage_v": 230, "main_fuse_a": 10}
    sc["battery"] = {
        "capacity_kwh": 10.0,
        "max_charge_kw": 5.0,
        "max_discharge_kw": 5.0,
        "efficiency": 0.9,
        "initial_kwh": 0.0,
        "line": "3P",
    }
    r = solve_checked(sc)  # the battery must absorb at least 9 − 6.9 = 2.1 kW
    assert r["battery"]["charge_kw"][0] >= 2.1 - 1e-6
    assert r["status"] == "optimal"
