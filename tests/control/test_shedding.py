"""Load shedding over cycles: lowest priority first, never the non-interruptible, resume gently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hems.alerts.engine import Condition
from hems.control.config import ApplianceConfig
from hems.control.shedding import Shedder

T0 = datetime(2026, 1, 15, 17, tzinfo=UTC)


def appliances() -> list[ApplianceConfig]:
    return [
        ApplianceConfig(
            id="ev",
            kind="energy",
            sheddable=True,
            interruptible=True,
            priority=1,
            shed_action="limit",
            min_kw=1.4,
            circuit="garage",
            line="L1",
        ),
        ApplianceConfig(
            id="heater", kind="relay", power_kw=2.0, sheddable=True, interruptible=True, priority=2, line="L1"
        ),
        ApplianceConfig(id="dishwasher", kind="shiftable", sheddable=True, interruptible=False, priority=0),
        ApplianceConfig(id="oven", kind="shiftable", priority=0),  # not opted in
    ]


def warn(shed_kw: float, circuit: str | None = None) -> Condition:
    return Condition("breaker.main.L1", "breaker", 1, "main fuse L1 may trip", {}, shed_kw, circuit)


POWER = {"ev": 7.4, "heater": 2.0, "dishwasher": 2.0, "oven": 3.0}


def test_limits_the_ev_first_then_stops_the_heater() -> None:
    s = Shedder(appliances())
    acts = s.decide(T0, [warn(3.0)], POWER)
    assert [(a.appliance, a.action, a.limit_kw) for a in acts] == [("ev", "limit", 4.4)]
    assert s.decide(T0 + timedelta(seconds=10), [warn(9.0)], POWER) == []  # settling
    acts = s.decide(T0 + timedelta(seconds=30), [warn(5.0)], POWER)
    # the EV can only go down to 1.4 kW (3 kW more), the heater goes; never the dishwasher or oven
    assert [(a.appliance, a.action, a.limit_kw) for a in acts] == [
        ("ev", "limit", 1.4),
        ("heater", "stop", None),
    ]


def test_a_main_fuse_line_counts_only_what_the_load_puts_on_it() -> None:
    three_phase = [a.model_copy(update={"line": "3P"}) if a.id == "ev" else a for a in appliances()]
    elsewhere = [a.model_copy(update={"line": "L2"}) if a.id == "heater" else a for a in three_phase]
    s = Shedder(elsewhere, network="TN")
    # 1 kW too much on L1: a 3-phase EV puts a third of its power on L1, so it must give up 3 kW
    acts = s.decide(T0, [warn(1.0)], POWER)
    assert [(a.appliance, a.action, a.limit_kw) for a in acts] == [("ev", "limit", 4.4)]
    s = Shedder(elsewhere, network="TN")
    # more than the EV can give on L1 (6 kW of it = 2 kW on L1): the heater on L2 is no help
    acts = s.decide(T0, [warn(2.5)], POWER)
    assert [(a.appliance, a.action, a.limit_kw) for a in acts] == [("ev", "limit", 1.4)]


def test_request_can_forbid_interruption() -> None:
    s = Shedder(appliances())
    acts = s.decide(T0, [warn(1.0)], POWER, interruptible={"ev": False})
    assert [(a.appliance, a.action) for a in acts] == [("heater", "stop")]


def test_circuit_scope() -> None:
    s = Shedder(appliances())
    acts = s.decide(T0, [warn(1.0, circuit="kitchen")], POWER)
    assert acts == []
    acts = s.decide(T0, [warn(1.0, circuit="garage")], POWER)
    assert [a.appliance for a in acts] == ["ev"]


def test_resume_after_calm_one_at_a_time_highest_priority_first() -> None:
    s = Shedder(appliances(), resume_after_s=300, resume_step_s=60)
    s.decide(T0, [warn(8.0)], POWER)
    assert set(s.shed) == {"ev", "heater"}
    t = T0
    resumed = []
    for _ in range(60):
        t += timedelta(seconds=10)
        resumed += [(a.appliance, a.action, int((t - T0).total_seconds())) for a in s.decide(t, [], POWER)]
    assert resumed == [("heater", "start", 310), ("ev", "start", 370)]
    assert s.shed == {}
