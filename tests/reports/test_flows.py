"""The flow allocation rule, by hand-computed slots and as properties."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hems.reports import build_report, slot_flows
from hems.reports.flows import FlowTotals
from hems.storage import Storage

kwh = st.floats(min_value=0, max_value=20, allow_nan=False)


def test_pv_surplus_charges_the_battery_then_exports() -> None:
    f = slot_flows(pv=3.0, imp=0.0, exp=1.0, chg=1.5)
    assert (f.pv_export, f.pv_to_battery, f.pv_load, f.grid_load) == (1.0, 1.5, 0.5, 0.0)
    assert f.shares() == (1.0, 0.0, 0.0)


def test_evening_load_split_between_battery_and_grid() -> None:
    f = slot_flows(pv=0.0, imp=0.6, exp=0.0, dis=0.2)
    assert f.load == pytest.approx(0.8)
    assert f.shares() == pytest.approx((0.0, 0.25, 0.75))
    totals = FlowTotals()
    totals.add_slot(f, {"heater": 0.4, "fridge": 0.1})
    assert totals.consumers["heater"].from_battery_kwh == pytest.approx(0.1)
    assert totals.consumers["heater"].from_grid_kwh == pytest.approx(0.3)
    assert totals.other.kwh == pytest.approx(0.3)


@settings(deadline=None)
@given(pv=kwh, imp=kwh, exp=kwh, chg=kwh, dis=kwh)
def test_every_source_is_accounted_for(pv: float, imp: float, exp: float, chg: float, dis: float) -> None:
    f = slot_flows(pv, imp, exp, chg, dis)
    assert f.pv_export + f.pv_to_battery + f.pv_load == pytest.approx(pv)
    assert f.grid_to_battery + f.grid_load == pytest.approx(imp)
    assert f.battery_export + f.battery_load == pytest.approx(dis)
    for part in (
        f.pv_export,
        f.battery_export,
        f.pv_to_battery,
        f.grid_to_battery,
        f.pv_load,
        f.battery_load,
        f.grid_load,
    ):
        assert part >= -1e-12


@settings(deadline=None)
@given(pv=kwh, imp=kwh, exp=kwh, circuit=kwh)
def test_a_circuits_shares_add_up_to_its_energy(pv: float, imp: float, exp: float, circuit: float) -> None:
    totals = FlowTotals()
    totals.add_slot(slot_flows(pv, imp, exp), {"c": circuit})
    a = totals.consumers["c"]
    assert a.from_pv_kwh + a.from_battery_kwh + a.from_grid_kwh == pytest.approx(a.kwh)


def test_battery_household_day(filler, battery_values, tmp_path) -> None:
    path = tmp_path / "hems.db"
    filler(path, date(2026, 3, 1), 2, step_s=300, values=battery_values)
    with Storage.open(path, readonly=True) as st:
        r = build_report(st, "day", date(2026, 3, 1), "Europe/Oslo")
    # charge 1 kW 11-13 from the PV surplus; discharge 0.8 kW 18-20 into 0.8 then 0.3 kW of load
    assert r.battery_charge_kwh == pytest.approx(2.0) and r.battery_discharge_kwh == pytest.approx(1.6)
    assert r.flows.pv_to_battery_kwh == pytest.approx(2.0) and r.flows.grid_to_battery_kwh == 0.0
    assert r.flows.house.from_battery_kwh == pytest.approx(1.1)
    assert r.flows.battery_export_kwh == pytest.approx(0.5)
    assert r.export_kwh == pytest.approx(5.3)
    assert r.flows.consumers["kitchen"].from_battery_kwh == pytest.approx(0.5)
    assert r.flows.consumers["kitchen"].from_grid_kwh == pytest.approx(1.5)
    assert r.pv_self_consumed_kwh == pytest.approx(8.0 - 4.8)
