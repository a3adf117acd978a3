"""A program that is already running is planned around on its own line: its power is not a third
per line of the base load (July seed 3 of `hems evaluate`: a running 1.9 kW dishwasher on L1 beside
an EV and a battery planned for 24.5 A per line gave 31.8 A on L1 and a breaker warning)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hems.control.config import ApplianceConfig
from hems.control.scenario import SiteFacts, build_scenario, keep_running_slot
from hems.mqtt.payloads import ApplianceRequest, Schedule
from optimiser.plan import plan_scenario

NOW = datetime(2026, 7, 22, 2, 0, tzinfo=UTC)
APPLIANCES = {
    "dishwasher": ApplianceConfig(id="dishwasher", kind="shiftable", line="L1"),
    "ev": ApplianceConfig(id="ev", kind="energy", line="3P"),
}


def flat(slots: list[datetime], minutes: int, value: float) -> list[float]:
    return [value] * len(slots)


def scenario() -> dict:
    running = Schedule(  # started at 01:45, 2.2 kW in each of its four slots
        version=1,
        seq=1,
        issued=NOW - timedelta(hours=2),
        start=NOW - timedelta(minutes=15),
        slot_start=NOW - timedelta(minutes=45),
        slot_minutes=15,
        power_kw=[0.0, 0.0, 2.2, 2.2, 2.2, 2.2],
    )
    ev = ApplianceRequest(
        seq=3,
        kind="energy",
        earliest_start=NOW,
        latest_end=NOW + timedelta(hours=2),
        energy_kwh=20.0,
        min_kw=0.0,
        max_kw=16.0,
    )
    return build_scenario(
        NOW,
        {"ev": ev},
        APPLIANCES,
        SiteFacts(main_fuse_a=25.0),
        lambda slots, minutes: (flat(slots, minutes, 0.5), flat(slots, minutes, 0.1)),
        lambda slots, minutes: flat(slots, minutes, 0.6),
        committed={"dishwasher": running},
    )


def test_the_running_program_is_a_started_program_on_its_line() -> None:
    sc = scenario()
    dishwasher = next(a for a in sc["appliance"] if a["id"] == "dishwasher")
    assert dishwasher["line"] == "L1" and dishwasher["started"] == (NOW - timedelta(minutes=15)).isoformat()
    assert dishwasher["profile_kw"] == [2.2, 2.2, 2.2, 2.2]
    assert sc["series"]["base_load_kw"][0] == 0.6  # the base load is the house's own


def test_the_ev_is_held_back_on_the_line_the_program_loads() -> None:
    plan = plan_scenario(scenario(), time_limit=30)
    fuse = plan["explanation"]["limits"]["fuse"]
    assert fuse["L1"]["max_abs_a"] <= 25.0 + 1e-6
    # the EV takes what L1 leaves while the dishwasher runs (3 slots), all of the fuse after it
    ev = plan["appliances"]["ev"]["power_kw"]
    l1_room_kw = (25.0 - 2.2 * 1000 / 230 - 0.2 * 1000 / 230) * 3 * 230 / 1000
    assert max(ev[:3]) <= l1_room_kw + 1e-3
    assert max(ev[4:]) > l1_room_kw + 1.0


def test_a_plan_made_mid_slot_keeps_the_running_slot_of_an_energy_need() -> None:
    """Re-planned at 22:05, a heater its old schedule runs 22:00–23:00 is not switched off until the
    new plan's first slot (22:15): it keeps 2 kW for the rest of the running slot."""
    t0 = datetime(2026, 1, 15, 22, 0, tzinfo=UTC)
    old = Schedule(version=1, seq=1, issued=t0, start=t0, slot_start=t0, slot_minutes=15, power_kw=[2.0] * 4)
    new_start = t0 + timedelta(minutes=15)
    fields = {
        "heater": {"start": new_start, "slot_start": new_start, "slot_minutes": 15, "power_kw": [2.0] * 3}
    }
    keep_running_slot(fields, {"heater": old}, t0 + timedelta(minutes=5), ["heater"])
    assert fields["heater"] == {"start": t0, "slot_start": t0, "slot_minutes": 15, "power_kw": [2.0] * 4}
    idle = {"heater": {"start": new_start, "slot_start": new_start, "slot_minutes": 15, "power_kw": [2.0]}}
    off = old.model_copy(update={"power_kw": [0.0, 2.0]})  # not running now: nothing to keep
    keep_running_slot(idle, {"heater": off}, t0 + timedelta(minutes=5), ["heater"])
    assert idle["heater"]["slot_start"] == new_start
