"""The Control hook over many cycles: alerts to storage and MQTT, shedding and relays on `set`,
Home Assistant discovery — against a real mosquitto and a real SQLite database."""

from __future__ import annotations

import asyncio
import json
import queue
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from devices.natures import ApplianceState, CircuitReading, GridReading
from hems.clock import ManualClock
from hems.config import parse_config
from hems.control import Control, build_control
from hems.snapshot import Snapshot
from hems.storage import Storage

T0 = datetime(2026, 1, 15, 15, 0, tzinfo=UTC)
SITE = "cycle-home"
A = f"hems/{SITE}/appliance"


def real_planner(scenario: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    from optimiser.plan import plan_scenario

    return plan_scenario(scenario, time_limit=timeout_s)


def prices(slots: list[datetime], minutes: int) -> tuple[list[float], list[float]]:
    return [0.5 if t >= datetime(2026, 1, 15, 20, tzinfo=UTC) else 2.0 for t in slots], [0.0] * len(slots)


def make_config(port: int | None) -> Any:
    doc: dict[str, Any] = {
        "site": {"id": SITE, "main_fuse_a": 25, "main_fuse_curve": "C"},
        "circuit": [{"id": "garage", "line": "3P", "breaker_a": 16, "curve": "B"}],
        "appliance": [
            {
                "id": "ev",
                "kind": "energy",
                "line": "L1",  # a single-phase charger: all its current is on L1
                "circuit": "garage",
                "sheddable": True,
                "interruptible": True,
                "shed_action": "limit",
                "min_kw": 1.4,
                "priority": 1,
            },
            {
                "id": "heater",
                "kind": "relay",
                "power_kw": 2.0,
                "sheddable": True,
                "interruptible": True,
                "priority": 2,
            },
        ],
    }
    if port is not None:
        doc["mqtt"] = {"host": "127.0.0.1", "port": port}
    return parse_config(doc)


def snap(clock: ManualClock, i_l1: float = 8.0, i_garage: float = 2.0, ev_w: float = 0.0) -> Snapshot:
    t = clock.now()
    return Snapshot(
        time=t,
        grid=GridReading(time=t, p_import_w=3000.0, i_l1_a=i_l1, i_l2_a=5.0, i_l3_a=5.0),
        circuits=MappingProxyType({"garage": CircuitReading(time=t, i_a=i_garage)}),
        appliances=MappingProxyType({"ev": ApplianceState(time=t, online=True, running=ev_w > 0, p_w=ev_w)}),
    )


async def cycles(control: Control, clock: ManualClock, n: int, step_s: float = 10.0, **kw: Any) -> None:
    for _ in range(n):
        clock.advance(step_s)
        await control.on_cycle(snap(clock, **kw))
        await asyncio.sleep(0.002)


def received(peer: Any, wait_s: float = 0.5) -> list[tuple[str, Any]]:
    out = []
    try:
        while True:
            m = peer.messages.get(timeout=wait_s)
            out.append((m.topic, json.loads(m.payload) if m.payload else None))
    except queue.Empty:
        return out


async def connected(control: Control) -> None:
    assert control.bridge is not None
    for _ in range(250):
        if control.bridge.connected.is_set():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not connected")


async def test_alerts_without_mqtt_go_to_storage(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    st = Storage.open(tmp_path / "hems.db", timezone="Europe/Oslo")
    control = build_control(make_config(None), st, clock, planner=real_planner, prices=prices)
    await control.start()
    await cycles(control, clock, 3, i_garage=1.4 * 16)
    await control.stop()
    events = st.events(T0, T0 + timedelta(hours=1), kind="alert.breaker")
    assert [(e.level, e.data["key"]) for e in events] == [("warning", "breaker.circuit.garage")]
    assert "may trip in" in events[0].message
    st.close()


async def test_overload_sheds_lowest_priority_and_resumes(broker: Any, peers: Any, tmp_path: Path) -> None:
    clock = ManualClock(T0)
    st = Storage.open(tmp_path / "hems.db", timezone="Europe/Oslo")
    control = build_control(make_config(broker.port), st, clock, planner=real_planner, prices=prices)
    await control.start()
    await connected(control)
    watcher = peers(
        broker.port, "watcher", subscribe=[f"hems/{SITE}/alert", f"{A}/ev/set", f"{A}/heater/set"]
    )
    try:
        await cycles(control, clock, 1, i_l1=1.4 * 25, ev_w=7400.0)  # main fuse L1 at 1.4 In
        await cycles(control, clock, 6, i_l1=23.0, ev_w=4800.0)  # the EV obeyed: no further shedding
        got = received(watcher)
        alerts = [p for t, p in got if t.endswith("/alert")]
        assert [(a["key"], a["level"]) for a in alerts] == [("breaker.main.L1", "warning")]
        live = control.state()
        assert [(a["key"], a["level"]) for a in live["alerts_active"]] == [("breaker.main.L1", "warning")]
        assert [(a["kind"], a["level"]) for a in live["alerts"]] == [("breaker", "warning")]
        assert live["control"]["shed"] == ["ev"]
        sets = [(t.split("/")[-2], p["action"], p["limit_kw"]) for t, p in got if t.endswith("/set")]
        need_kw = (1.4 - 0.95) * 25 * 230 / 1000  # down to 95 % of the fuse rating
        assert sets == [("ev", "limit", pytest.approx(7.4 - need_kw, abs=0.002))]  # heater is off: left alone
        await cycles(control, clock, 60, i_l1=8.0, ev_w=4800.0)  # back to normal for 10 minutes
        got = received(watcher)
        assert ("breaker.main.L1", "cleared") in [
            (p["key"], p["level"]) for t, p in got if t.endswith("/alert")
        ]
        resumed = [t.split("/")[-2] for t, p in got if t.endswith("/set") and p["action"] == "start"]
        assert "ev" in resumed
        assert control.state()["alerts"] == []  # cleared by now
        kinds = {e.kind for e in st.events(T0, clock.now())}
        assert {"alert.breaker", "control.shed"} <= kinds
    finally:
        await control.stop()
        st.close()


async def test_relay_switched_at_planned_times(broker: Any, peers: Any, tmp_path: Path) -> None:
    clock = ManualClock(T0)
    st = Storage.open(tmp_path / "hems.db", timezone="Europe/Oslo")
    control = build_control(make_config(broker.port), st, clock, planner=real_planner, prices=prices)
    await control.start()
    await connected(control)
    relay = peers(broker.port, "relay", subscribe=[f"{A}/heater/set"])
    try:
        request = {
            "seq": 1,
            "kind": "energy",
            "energy_kwh": 2.0,
            "min_kw": 2.0,
            "max_kw": 2.0,
            "earliest_start": "2026-01-15T16:00:00Z",
            "latest_end": "2026-01-15T23:00:00Z",
        }
        relay.publish(f"{A}/heater/request", json.dumps(request))
        for _ in range(200):  # wait for the plan
            await cycles(control, clock, 1, step_s=1)
            if control.book.entries["heater"].schedule is not None:
                break
            await asyncio.sleep(0.02)
        switched: list[tuple[str, datetime]] = []
        for _ in range(9 * 60):  # nine hours of one-minute cycles
            await cycles(control, clock, 1, step_s=60)
            for _t, p in received(relay, 0.0):
                switched.append((p["action"], datetime.fromisoformat(p["time"])))
        assert [a for a, _ in switched] == ["stop", "start", "stop"]  # off until its planned hour
        on, off = switched[1][1], switched[2][1]
        assert on >= datetime(2026, 1, 15, 20, tzinfo=UTC)  # the cheap hours
        assert off - on == timedelta(hours=1)  # 2 kWh at 2 kW
    finally:
        await control.stop()
        st.close()


async def test_discovery_resent_when_home_assistant_comes_online(
    broker: Any, peers: Any, tmp_path: Path
) -> None:
    clock = ManualClock(T0)
    control = build_control(make_config(broker.port), None, clock, planner=real_planner, prices=prices)
    await control.start()
    await connected(control)
    topic = f"homeassistant/device/hems_{SITE.replace('-', '_')}/config"
    ha = peers(broker.port, "ha", subscribe=[topic])
    try:
        for _ in range(500):  # the box publishes discovery once connected (from its loop)
            await cycles(control, clock, 1)
            if not ha.messages.empty():
                break
            await asyncio.sleep(0.01)
        first = received(ha)
        assert [t for t, _ in first] == [topic]
        ha.publish("homeassistant/status", b"online")
        for _ in range(500):  # until the box has handled it (the broker and paho run in threads)
            await cycles(control, clock, 1)
            if not ha.messages.empty():
                break
            await asyncio.sleep(0.01)
        again = received(ha)
        assert [t for t, _ in again] == [topic]
        doc = again[0][1]
        assert doc["dev"]["ids"] == ["hems_cycle_home"]
        assert {c["p"] for c in doc["cmps"].values()} == {"sensor"}
        assert any(c.get("device_class") == "current" for c in doc["cmps"].values())
        assert doc["cmps"]["hems_cycle_home_price"]["unit_of_measurement"] == "NOK/kWh"
    finally:
        await control.stop()


async def test_replans_when_the_measured_load_leaves_the_plan(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    control = build_control(make_config(None), None, clock, planner=real_planner, prices=prices)
    await control.start()
    ev = {
        "seq": 1,
        "kind": "energy",
        "energy_kwh": 10.0,
        "min_kw": 1.4,
        "max_kw": 7.4,
        "earliest_start": "2026-01-15T16:00:00Z",
        "latest_end": "2026-01-16T06:00:00Z",
    }
    assert control.book.on_request("ev", json.dumps(ev).encode(), clock.now()).replan
    control.request_replan("a request")
    for _ in range(300):
        await control.on_cycle(Snapshot(time=clock.now()))
        if control.plans_made:
            break
        await asyncio.sleep(0.02)
    assert control.plans_made == 1
    assert control.plan is not None and control.plan["starts"]["ev"] >= "2026-01-15T20:00:00+00:00"
    await cycles(control, clock, 60, i_l1=10.0)  # 3 kW measured vs ~0 planned, for 10 minutes: wait
    assert not control._dirty and control.plans_made == 1
    await cycles(control, clock, 40, i_l1=10.0)  # beyond 15 minutes: the picture changed
    for _ in range(300):
        if control.plans_made == 2:
            break
        await asyncio.sleep(0.02)
        await control.on_cycle(snap(clock))
    assert control.plans_made == 2
    await control.stop()
