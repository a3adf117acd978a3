"""`hems evaluate --drivers battery`: the hems box drives the twin's battery through its real
SunSpec driver, a pymodbus client talking Modbus TCP to a simulated inverter (a pymodbus server
whose charge and power are the twin battery's), closing the loop through the grid meter every
10-s cycle as the daemon does."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path

import pytest

from hems.config import parse_config
from hems.evaluate import evaluate
from hems.evaluate.metrics import result
from hems.evaluate.run import Runner
from hems.evaluate.world import build_world
from hems.storage import Storage
from hems.twin import twin_config

FIRST = date(2026, 7, 1)
APPLIANCES = [
    {"id": "dishwasher", "kind": "shiftable", "circuit": "dishwasher", "line": "L2"},
    {"id": "battery", "kind": "battery", "capacity_kwh": 10.0, "power_kw": 5.0},
]
CFG = {
    "site": {"main_fuse_a": 25},
    "tariff": {"grid_company": "Elvia"},
    "pv": {"array": [{"name": "roof", "kwp": 8.0}], "weather": {"source": "none"}},
    "appliance": APPLIANCES,
}


@pytest.mark.scale
def test_the_battery_follows_the_plan_through_the_sunspec_driver(tmp_path: Path) -> None:
    cfg, notes = twin_config(parse_config(CFG), drivers=("battery",))
    assert any("SunSpec" in n for n in notes)
    cfg = cfg.model_copy(update={"mqtt": None})
    world = build_world(cfg, FIRST, 1, 1, "NO1")
    runner = Runner(world, "hems", tmp_path / "hems.db")
    assert runner.inverter is not None and "battery" not in {a.device.id for a in runner.agents}
    outcome = asyncio.run(runner.run())
    battery = outcome.twin.battery
    assert battery is not None
    # it charged from the midday sun and gave it back in the evening, on the box's set points
    assert battery.charged_kwh > 3.0 and battery.discharged_kwh > 2.0
    assert outcome.fine_steps == outcome.steps  # the box's loop every 10 s, as the daemon's
    assert runner.settler is not None and runner.settler.given_up == 0
    with Storage.open(tmp_path / "hems.db", readonly=True) as st:
        end = world.end + timedelta(days=1)
        assert st.events(world.start, end, "appliance.fault") == []
        assert st.events(world.start, end, "appliance.problem") == []
    r = result(world, outcome)
    assert r.deadlines_missed == 0
    # the sun went into the battery, not the grid: most of the PV stayed in the house
    assert r.pv_self_consumption_share is not None and r.pv_self_consumption_share > 0.5


def test_a_battery_driver_needs_a_battery() -> None:
    no_battery = {**CFG, "appliance": APPLIANCES[:1]}
    with pytest.raises(ValueError, match=r"no driven appliance \['battery'\]"):
        evaluate(parse_config(no_battery), FIRST, 1, drivers=("battery",), strategies=("none",))
