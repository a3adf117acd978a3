"""`hems evaluate --heat-pump`: the twin's SG Ready heat pump in every strategy's house. The hems box
drives it through its real SG Ready driver behind two simulated relay contacts; rule switches the
contacts by the day's spot prices; none and oracle leave it on its own controller (the oracle knows
its load in advance, as it knows the base load)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from hems.config import parse_config
from hems.evaluate import evaluate
from hems.evaluate.physics import heat_pumps_on_their_own_kw
from hems.evaluate.run import Runner
from hems.evaluate.world import build_world
from hems.storage import Storage
from hems.twin import twin_config, with_heat_pump

FIRST = date(2026, 1, 14)
CFG = {"site": {"main_fuse_a": 25}, "tariff": {"grid_company": "Elvia"}}


@pytest.fixture(scope="module")
def two_days() -> dict:
    doc, detail = evaluate(parse_config(CFG), FIRST, 2, seed=1, zone="NO1", heat_pump=True, parallel=False)
    return {"doc": doc, **detail}


def test_every_strategy_has_the_heat_pump_and_only_rule_and_hems_move_it(two_days: dict) -> None:
    strategies = two_days["doc"]["strategies"]
    for name in ("none", "oracle"):
        hp = strategies[name]["heat_pumps"]["heat-pump"]
        assert hp["hours_in_state"]["boost"] == hp["hours_in_state"]["block"] == 0.0
        assert hp["coldest_tank_c"] >= 44.0  # its own controller keeps 45-50 °C
    for name in ("rule", "hems"):
        hp = strategies[name]["heat_pumps"]["heat-pump"]
        assert hp["hours_in_state"]["boost"] > 0 and hp["hours_in_state"]["block"] > 0
        assert hp["hours_in_state"]["force"] == 0.0  # not allowed by default
    for name in ("rule", "hems"):  # a block lets the tank cool to its 35 °C guard, never below
        assert strategies[name]["heat_pumps"]["heat-pump"]["coldest_tank_c"] >= 34.5
    for name, s in strategies.items():
        assert s["heat_pumps"]["heat-pump"]["kwh"] > 20.0, name  # two cold January days of heating
        assert s["deadlines_missed"] == 0


def test_the_share_of_the_oracle_is_left_out_and_says_why(two_days: dict) -> None:
    doc = two_days["doc"]
    assert doc["hems_share_of_oracle_savings"] is None
    assert any("oracle cannot move the heat pump" in n for n in doc["notes"])
    s = doc["strategies"]
    saving = s["none"]["bill"]["total"] - s["hems"]["bill"]["total"]
    assert doc["hems_saving_over_none"] == pytest.approx(saving)


def test_the_oracle_knows_the_heat_pumps_own_load(two_days: dict) -> None:
    world, results = two_days["world"], two_days["results"]
    own = heat_pumps_on_their_own_kw(world)
    ran = results["none"]  # none leaves it alone too, stepped from event to event
    assert own.sum() * 0.25 == pytest.approx(ran.heat_pumps["heat-pump"]["kwh"], rel=0.02)
    assert np.all(own >= 0) and own.max() <= 2.0 + 1e-9


def test_the_box_switches_the_contacts_through_its_driver(tmp_path: Path) -> None:
    cfg, _ = twin_config(parse_config(CFG))
    cfg = with_heat_pump(cfg).model_copy(update={"mqtt": None})
    world = build_world(cfg, FIRST, 1, 1, "NO1")
    runner = Runner(world, "hems", tmp_path / "hems.db")
    (peer,) = [p for p in runner.peers if p.device.id == "heat-pump"]
    assert len(peer.relays) == 2 and "heat-pump" not in {a.device.id for a in runner.agents}
    outcome = asyncio.run(runner.run())
    pump = outcome.twin.heat_pumps[0]
    assert pump.state_s[3] > 0 and pump.state_s[1] > 0  # boosted and blocked through the relays
    assert all(relay.commands >= 2 for relay in peer.relays)
    with Storage.open(tmp_path / "hems.db", readonly=True) as st:
        end = world.end + timedelta(days=1)
        assert st.events(world.start, end, "appliance.fault") == []
        assert st.events(world.start, end, "appliance.problem") == []
