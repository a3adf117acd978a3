"""`hems evaluate --drivers`: the hems box drives the twin's water heater through its real Shelly
driver (a simulated Shelly Plus 1PM on the in-process bus) and its EV through its real OCPP driver
(the `ocpp` package's ChargePoint on a real websocket, following the evaluation's clock), and the
loop's figures hold: every refill and charge done, no fault, the devices' own meters agreeing with
what the appliances took, and a bill that still beats the household on its own."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from hems.config import parse_config
from hems.evaluate import evaluate
from hems.evaluate.metrics import result
from hems.evaluate.run import Runner
from hems.evaluate.world import build_world
from hems.storage import Storage
from hems.twin import TWIN_SHELLY, twin_config

FIRST = date(2026, 1, 12)
CFG = {"site": {"main_fuse_a": 25}, "tariff": {"grid_company": "Elvia"}}


def test_the_water_heater_runs_through_the_shelly_driver(tmp_path: Path) -> None:
    cfg, notes = twin_config(parse_config(CFG), drivers=("water-heater",))
    cfg = cfg.model_copy(update={"mqtt": None})
    assert any("Shelly" in n for n in notes)
    world = build_world(cfg, FIRST, 2, 1, "NO1")
    runner = Runner(world, "hems", tmp_path / "hems.db")
    (peer,) = runner.peers
    assert peer.relay.topic == TWIN_SHELLY and "water-heater" not in {a.device.id for a in runner.agents}
    outcome = asyncio.run(runner.run())
    heater = next(d for d in outcome.twin.devices if d.id == "water-heater")
    # both refills of both days: what the tank lacked, delivered before its deadline
    assert len(heater.sessions) >= 3
    for need, wh, done in heater.sessions:
        if need.latest_end <= world.end:
            assert wh == pytest.approx(need.energy_wh) and done is not None and done <= need.latest_end
    # the relay was switched by the box (not left on), and its meter counted the tank's heat
    assert peer.relay.commands >= 4
    assert peer.relay.energy_wh == pytest.approx(sum(heater.delivered_wh.values()), rel=0.01)
    with Storage.open(tmp_path / "hems.db", readonly=True) as st:
        faults = st.events(world.start, world.end + timedelta(days=1), "appliance.fault")
        problems = st.events(world.start, world.end + timedelta(days=1), "appliance.problem")
    assert faults == [] and problems == []
    r = result(world, outcome)
    assert r.deadlines_missed == 0 and r.appliance_kwh_delivered == pytest.approx(r.appliance_kwh_requested)


def test_the_ev_charges_through_the_ocpp_driver(tmp_path: Path) -> None:
    cfg, notes = twin_config(parse_config(CFG), drivers=("ev",))
    cfg = cfg.model_copy(update={"mqtt": None})
    assert any("OCPP" in n for n in notes) and cfg.ocpp is not None
    world = build_world(cfg, FIRST, 3, 1, "NO1")
    runner = Runner(world, "hems", tmp_path / "hems.db")
    (peer,) = runner.peers
    outcome = asyncio.run(runner.run())
    st = peer.state
    assert st["booted"] and st["profiles"] >= 1 and st["schedule"] is not None  # the plan, as a profile
    ev = next(d for d in outcome.twin.devices if d.id == "ev")
    done = [(need, wh, at) for need, wh, at in ev.sessions if need.latest_end <= world.end]
    # two evenings' charges: unplugging ended the first transaction (StopTransaction), so the
    # second plug-in is started remotely again
    assert len(done) >= 2
    for need, wh, at in done:
        assert wh == pytest.approx(need.energy_wh) and at is not None and at <= need.latest_end
    # the charger reported the car's state of charge, so the box sized each session by it
    box_side = runner.control.drivers.devices["ev"]
    assert box_side.delivered_wh and all(key.endswith(":soc") for key in box_side.delivered_wh)
    # the charger's energy register counted what the car took
    assert st["energy_wh"] == pytest.approx(sum(ev.delivered_wh.values()), rel=0.01)
    assert runner.settler is not None and runner.settler.given_up == 0
    with Storage.open(tmp_path / "hems.db", readonly=True) as db:
        kinds = {e.kind for e in db.events(world.start, world.end + timedelta(days=1))}
    assert not kinds & {"appliance.fault", "appliance.problem"}
    r = result(world, outcome)
    assert r.deadlines_missed == 0 and r.appliance_kwh_delivered == pytest.approx(r.appliance_kwh_requested)


def test_driven_and_protocol_boxes_both_save() -> None:
    common = dict(seed=1, zone="NO1", strategies=("none", "hems"), parallel=False)
    native, _ = evaluate(parse_config(CFG), FIRST, 2, **common)
    driven, _ = evaluate(parse_config(CFG), FIRST, 2, drivers=("water-heater", "ev"), **common)
    none, hems, hems_driven = (
        native["strategies"]["none"],
        native["strategies"]["hems"],
        driven["strategies"]["hems"],
    )
    assert driven["strategies"]["none"] == none  # the household alone: no box, no driver
    for box in (hems, hems_driven):
        assert box["deadlines_missed"] == 0 and box["runs_completed"] == box["runs_requested"]
        assert box["bill"]["total"] < none["bill"]["total"]
    # a relay and a charger cannot tell the box how much the tank and the car lack; the plans are
    # still within 2 % of the box that hears it from the appliances themselves
    assert hems_driven["bill"]["total"] == pytest.approx(hems["bill"]["total"], rel=0.02)
    assert any("Shelly" in n for n in driven["notes"]) and any("OCPP" in n for n in driven["notes"])


def test_drivers_flag_and_its_refusals(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"can drive .*water-heater.* not .*'washer'"):
        evaluate(parse_config(CFG), FIRST, 1, drivers=("washer",), strategies=("none",))
    own = {**CFG, "appliance": [{"id": "wh", "kind": "thermal", "power_kw": 2.0}]}
    with pytest.raises(ValueError, match=r"no driven appliance \['water-heater'\]"):
        evaluate(parse_config(own), FIRST, 1, drivers=("water-heater",), strategies=("none",))
    # a configuration naming the twin's water heater itself: that one goes behind the Shelly
    own["appliance"] = [{"id": "water-heater", "kind": "thermal", "power_kw": 2.0, "priority": 3}]
    cfg, _ = twin_config(parse_config(own), drivers=("water-heater",))
    (heater,) = cfg.appliance
    assert (heater.driver, heater.priority, heater.device.topic) == ("shelly", 3, TWIN_SHELLY)
    cmd = [sys.executable, "-m", "hems", "evaluate", "--start", "2026-01-12", "--days", "1"]
    run = subprocess.run(
        [*cmd, "--strategies", "none,hems", "--drivers", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["strategies"]["hems"]["deadlines_missed"] == 0
    assert any("Shelly" in n for n in doc["notes"]) and any("OCPP" in n for n in doc["notes"])
