"""Overload rules over cycles with a leaping clock: raised before the trip, no flapping, cleared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest

from devices.natures import CircuitReading, GridReading
from hems.alerts.capacity import CapacityTracker, step_index, top3_mean
from hems.alerts.config import AlertsConfig
from hems.alerts.engine import AlertEngine, BreakerSpec
from hems.clock import ManualClock
from hems.snapshot import Snapshot

T0 = datetime(2026, 1, 15, 11, 0, tzinfo=UTC)  # 12:00 in Oslo


def engine(**cfg: object) -> AlertEngine:
    return AlertEngine(
        AlertsConfig.model_validate(cfg),
        main_fuse_a=25,
        main_fuse_curve="C",
        lines=("L1", "L2", "L3"),
        voltage_v=230,
        circuits=[BreakerSpec("breaker.circuit.ev", 16, "B", 230, circuit="ev")],
    )


def snap(clock: ManualClock, i_ev: float = 0.0, i_l1: float = 5.0, p_w: float = 1000.0, **kw) -> Snapshot:
    t = clock.now()
    grid = GridReading(time=t, p_import_w=p_w, i_l1_a=i_l1, i_l2_a=3.0, i_l3_a=3.0)
    circuits = MappingProxyType({"ev": CircuitReading(time=t, i_a=i_ev)})
    return Snapshot(time=t, grid=grid, circuits=circuits, **kw)


def cycles(eng: AlertEngine, clock: ManualClock, n: int, step_s: float = 10.0, **kw) -> list:
    out = []
    for _ in range(n):
        clock.advance(step_s)
        out.extend(eng.evaluate(snap(clock, **kw)))
    return out


def test_circuit_overload_warns_minutes_before_the_model_trips_then_clears_once() -> None:
    clock = ManualClock(T0)
    eng = engine()
    assert cycles(eng, clock, 6, i_ev=10.0) == []
    alerts = cycles(eng, clock, 1, i_ev=1.3 * 16)
    assert [(a.key, a.level) for a in alerts] == [("breaker.circuit.ev", "warning")]
    assert alerts[0].data["seconds_to_trip"] > 5 * 60  # minutes of margin
    assert "may trip in" in alerts[0].message
    assert eng.active["breaker.circuit.ev"].shed_kw == pytest.approx((1.3 - 0.95) * 16 * 0.23, rel=1e-3)
    later = cycles(eng, clock, 60, i_ev=1.3 * 16)  # stays on: escalates to critical, never flaps
    assert [a.level for a in later] == ["critical"]
    dropped = clock.now()
    back = cycles(eng, clock, 100, i_ev=8.0)
    assert [a.level for a in back] == ["cleared"]  # below k·In the model never trips: cleared ...
    assert (back[0].time - dropped).total_seconds() > 60  # ... once that has held for hold_s


def test_instantaneous_limit_is_critical_at_once() -> None:
    clock = ManualClock(T0)
    eng = engine()
    alerts = cycles(eng, clock, 1, i_ev=4 * 16)  # B curve: 3–5 In may trip instantly
    assert [(a.key, a.level) for a in alerts] == [("breaker.circuit.ev", "critical")]
    assert alerts[0].data["instantaneous"] == "possible"


def test_main_fuse_per_line() -> None:
    clock = ManualClock(T0)
    eng = engine()
    alerts = cycles(eng, clock, 3, i_l1=1.5 * 25)
    assert [a.key for a in alerts] == ["breaker.main.L1"]


def test_contracted_power_hovering_at_the_limit_does_not_flap() -> None:
    clock = ManualClock(T0)
    eng = engine(contract_kw=3.0)
    alerts = []
    for i in range(90):  # 3.4 / 3.2 kW around the 3.3 kW "available" power
        alerts += cycles(eng, clock, 1, p_w=3400.0 if i % 2 else 3200.0)
    assert [(a.key, a.level) for a in alerts] == [("contract", "warning")]
    fast = cycles(eng, clock, 1, p_w=4500.0)  # above 4 kW: the meter disconnects in 2 minutes
    assert [(a.key, a.level) for a in fast] == [("contract", "critical")]
    assert fast[0].data["seconds_left"] == pytest.approx(120.0)
    assert "disconnects in" in fast[0].message


def test_capacity_step_warning_says_what_it_costs() -> None:
    clock = ManualClock(T0)
    eng = engine(capacity_step_upper_kw=[2, 5, 10], capacity_step_price=[100, 150, 240, 330])
    assert eng.capacity is not None
    eng.capacity.seed({T0 - timedelta(days=d): 4.0 for d in (1, 2, 3)})  # month mean 4 kW: step 2–5
    assert cycles(eng, clock, 60, p_w=6000.0) == []  # 10 min at 6 kW → ~6 kWh: stays in the step
    alerts = cycles(eng, clock, 30, p_w=9000.0)
    assert [(a.key, a.level) for a in alerts] == [("capacity", "warning")]
    a = alerts[0]
    assert a.data["limit_kwh"] == pytest.approx(7.0)  # 3 × 5 − 4 − 4
    assert a.data["extra_cost_per_month"] == 90
    assert "90 more per month" in a.message
    assert eng.active["capacity"].shed_kw > 0


def test_capacity_tracker_closes_hours_into_daily_peaks() -> None:
    tracker = CapacityTracker([2, 5, 10], [1, 2, 3, 4], "Europe/Oslo")
    t = T0
    for _ in range(3 * 360):  # three hours at 3 kW then one hour at 6 kW
        t += timedelta(seconds=10)
        tracker.add(t, 3000.0)
    for _ in range(360):
        t += timedelta(seconds=10)
        tracker.add(t, 6000.0)
    t += timedelta(seconds=10)
    tracker.add(t, 0.0)
    assert tracker.daily_peaks == {T0.date(): pytest.approx(6.0, rel=1e-3)}
    assert top3_mean([6.0]) == pytest.approx(2.0)
    assert step_index(5.0, [2, 5, 10]) == 1 and step_index(5.01, [2, 5, 10]) == 2


def test_device_lost_after_a_while_and_back() -> None:
    clock = ManualClock(T0)
    eng = engine()
    assert cycles(eng, clock, 5, errors=MappingProxyType({"han": "timeout"})) == []
    lost = cycles(eng, clock, 2, errors=MappingProxyType({"han": "timeout"}))
    assert [(a.key, a.level) for a in lost] == [("device.han", "warning")]
    back = cycles(eng, clock, 8)
    assert [(a.key, a.level) for a in back] == [("device.han", "cleared")]


def test_a_missing_meter_does_not_clear_a_warning() -> None:
    clock = ManualClock(T0)
    eng = engine()
    assert [a.level for a in cycles(eng, clock, 2, i_ev=1.4 * 16)] == ["warning"]
    for _ in range(30):  # the circuit meter is silent for five minutes
        clock.advance(10)
        t = clock.now()
        gone = Snapshot(
            time=t,
            grid=GridReading(time=t, p_import_w=1000.0, i_l1_a=5.0, i_l2_a=3.0, i_l3_a=3.0),
            errors=MappingProxyType({"ev-meter": "timeout"}),
        )
        for a in eng.evaluate(gone):
            assert a.key != "breaker.circuit.ev"
    assert "breaker.circuit.ev" in eng.active and "device.ev-meter" in eng.active
