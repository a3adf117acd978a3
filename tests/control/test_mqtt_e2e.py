"""End to end with a real mosquitto, the real optimiser and paho clients acting as appliances."""

from __future__ import annotations

import asyncio
import json
import queue
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hems.clock import ManualClock
from hems.config import parse_config
from hems.control import Control, build_control
from hems.snapshot import Snapshot
from hems.storage import Storage

T0 = datetime(2026, 1, 15, 15, 0, tzinfo=UTC)  # 16:00 in Oslo
CHEAP_FROM = datetime(2026, 1, 15, 20, 0, tzinfo=UTC)
SITE = "test-home"
DW = f"hems/{SITE}/appliance/dishwasher"


def real_planner(scenario: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    from optimiser.plan import plan_scenario

    return plan_scenario(scenario, time_limit=timeout_s)


def prices(slots: list[datetime], minutes: int) -> tuple[list[float], list[float]]:
    return [0.5 if t >= CHEAP_FROM else 2.0 for t in slots], [0.0] * len(slots)


def config(port: int, **mqtt: Any) -> Any:
    return parse_config(
        {
            "site": {"id": SITE},
            "mqtt": {
                "host": "127.0.0.1",
                "port": port,
                "resend_s": 30,
                "reconnect_min_s": 1,
                "reconnect_max_s": 2,
                **mqtt,
            },
            "appliance": [
                {"id": "dishwasher", "kind": "shiftable", "line": "L1"},
                {"id": "ev", "kind": "energy"},
            ],
        }
    )


DISH = {
    "seq": 1,
    "kind": "shiftable",
    "profile_kw": [2.0, 0.2, 0.2, 1.8],
    "earliest_start": "2026-01-15T17:00:00+01:00",
    "latest_end": "2026-01-16T06:00:00+01:00",
}


async def expect(
    peer: Any, topic: str, control: Control, clock: ManualClock, timeout: float = 30.0, step_s: float = 1.0
) -> Any:
    """Run cycles until ``peer`` receives a message on ``topic``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        clock.advance(step_s)
        await control.on_cycle(Snapshot(time=clock.now()))
        try:
            m = peer.messages.get_nowait()
        except queue.Empty:
            await asyncio.sleep(0.02)
            continue
        peer.seen.append((m.topic, bytes(m.payload), bool(m.retain)))
        if m.topic == topic:
            return m
    raise AssertionError(f"nothing on {topic} within {timeout} s; seen {peer.seen}")


async def started(
    broker: Any, tmp_path: Path, price_fn: Any = prices, **mqtt: Any
) -> tuple[Control, ManualClock, Storage]:
    clock = ManualClock(T0)
    st = Storage.open(tmp_path / "hems.db", timezone="Europe/Oslo")
    control = build_control(config(broker.port, **mqtt), st, clock, planner=real_planner, prices=price_fn)
    await control.start()
    assert control.bridge is not None
    for _ in range(200):
        if control.bridge.connected.is_set():
            break
        await asyncio.sleep(0.02)
    assert control.bridge.connected.is_set()
    return control, clock, st


async def test_request_schedule_ack_and_hostile_payloads(broker: Any, peers: Any, tmp_path: Path) -> None:
    control, clock, st = await started(broker, tmp_path)
    dw = peers(broker.port, "dishwasher", subscribe=[f"{DW}/schedule", f"{DW}/ack"])
    try:
        dw.publish(f"{DW}/request", json.dumps(DISH))
        m = await expect(dw, f"{DW}/schedule", control, clock)
        schedule = json.loads(m.payload)
        assert schedule["version"] == 1 and schedule["seq"] == 1
        start = datetime.fromisoformat(schedule["start"])
        assert start >= CHEAP_FROM  # the optimiser moved it into the cheap evening
        assert schedule["power_kw"][-4:] == pytest.approx([2.0, 0.2, 0.2, 1.8])
        dw.publish(f"{DW}/ack", json.dumps({"version": 1, "accepted": True}))
        for _ in range(50):
            await control.on_cycle(Snapshot(time=clock.now()))
            if control.book.entries["dishwasher"].acked == 1:
                break
            await asyncio.sleep(0.02)
        assert control.book.entries["dishwasher"].acked == 1

        hostile = [
            (b"\x00\xff not json", "Invalid JSON"),
            (json.dumps({**DISH, "seq": 2, "profile_kw": "rm -rf"}).encode(), "profile_kw"),
            # an oversized payload is dropped on arrival, unanswered (tests/control/test_mqtt_floods.py)
            (json.dumps(DISH).encode(), "replayed request"),  # seq 1 again
        ]
        for payload, reason in hostile:
            dw.publish(f"{DW}/request", payload)
            rej = json.loads((await expect(dw, f"{DW}/ack", control, clock)).payload)
            assert rej["source"] == "hems" and rej["rejected"] == "request"
            assert reason in rej["reason"]
        dw.publish(f"{DW}/ack", json.dumps({"version": 7}))  # an old/unknown version
        rej = json.loads((await expect(dw, f"{DW}/ack", control, clock)).payload)
        assert "stale ack" in rej["reason"]
        intruder = peers(broker.port, "intruder", subscribe=[f"hems/{SITE}/appliance/oven/ack"])
        intruder.publish(f"hems/{SITE}/appliance/oven/request", json.dumps(DISH))
        rej = json.loads((await expect(intruder, f"hems/{SITE}/appliance/oven/ack", control, clock)).payload)
        assert "unknown appliance" in rej["reason"]
        # nothing else changed: still version 1, acknowledged, one plan
        e = control.book.entries["dishwasher"]
        assert (e.version, e.acked, e.last_seq, control.plans_made) == (1, 1, 1, 1)
        events = st.events(T0, T0 + timedelta(days=1), kind="mqtt.rejected")
        assert len(events) == 5
    finally:
        await control.stop()
        st.close()


async def test_unacknowledged_schedule_is_resent_and_offline_appliance_dropped(
    broker: Any, peers: Any, tmp_path: Path
) -> None:
    control, clock, st = await started(broker, tmp_path)
    dw = peers(broker.port, "dishwasher", subscribe=[f"{DW}/schedule"])
    try:
        dw.publish(f"{DW}/request", json.dumps(DISH))
        first = json.loads((await expect(dw, f"{DW}/schedule", control, clock)).payload)
        again = json.loads((await expect(dw, f"{DW}/schedule", control, clock, step_s=10)).payload)
        assert again == first  # same version, sent again since it was never acknowledged
        dw.publish(f"{DW}/state", json.dumps({"online": True, "running": False, "p_w": 3.5}))
        for _ in range(300):
            await control.on_cycle(Snapshot(time=clock.now()))
            if "dishwasher" in control.book.states():
                break
            await asyncio.sleep(0.01)
        assert control.book.states()["dishwasher"].p_w == 3.5  # for the daemon's snapshot
        dw.publish(f"{DW}/state", b"offline")
        gone = await expect(dw, f"{DW}/schedule", control, clock)
        assert gone.payload == b""  # retained schedule withdrawn
        assert control.book.pending(clock.now()) == {}
    finally:
        await control.stop()
        st.close()


async def test_retained_schedule_comes_back_after_a_broker_restart(
    broker: Any, peers: Any, tmp_path: Path
) -> None:
    control, clock, st = await started(broker, tmp_path)
    dw = peers(broker.port, "dishwasher", subscribe=[f"{DW}/schedule"])
    try:
        dw.publish(f"{DW}/request", json.dumps(DISH))
        first = json.loads((await expect(dw, f"{DW}/schedule", control, clock)).payload)
        dw.close()
        broker.stop()  # no persistence: the broker forgets every retained message
        broker.start()
        assert control.bridge is not None
        for _ in range(400):
            await asyncio.sleep(0.02)
            if control.bridge.connects >= 2:
                break
        assert control.bridge.connects >= 2
        late = peers(broker.port, "dishwasher-2", subscribe=[f"{DW}/schedule", f"hems/{SITE}/status"])
        m = await expect(late, f"{DW}/schedule", control, clock, step_s=0.1)
        assert m.retain and json.loads(m.payload) == first
    finally:
        await control.stop()
        st.close()


async def test_a_flood_of_bad_messages_is_answered_only_so_often(
    broker: Any, peers: Any, tmp_path: Path
) -> None:
    control, clock, st = await started(broker, tmp_path)
    dw = peers(broker.port, "dishwasher", subscribe=[f"{DW}/ack"])
    try:
        for i in range(30):
            dw.publish(f"{DW}/request", b"garbage %d" % i)
        for _ in range(100):  # within one minute of the box's clock
            await control.on_cycle(Snapshot(time=clock.now()))
            await asyncio.sleep(0.01)
        answers = []
        while not dw.messages.empty():
            answers.append(dw.messages.get_nowait())
        assert len(answers) == 10  # the per-appliance limit
        assert len(st.events(T0, T0 + timedelta(hours=1), kind="mqtt.rejected")) == 10
        assert control.book.entries["dishwasher"].last_seq == -1  # nothing changed
        clock.advance(61)  # a minute later it answers again
        dw.publish(f"{DW}/request", b"garbage again")
        m = await expect(dw, f"{DW}/ack", control, clock, step_s=0.01)
        assert json.loads(m.payload)["rejected"] == "request"
    finally:
        await control.stop()
        st.close()


def rising_prices(slots: list[datetime], minutes: int) -> tuple[list[float], list[float]]:
    """Cheap from 20:00 UTC, rising a little each slot: every optimum is unique."""
    return [0.5 + 0.001 * i if t >= CHEAP_FROM else 2.0 for i, t in enumerate(slots)], [0.0] * len(slots)


async def test_replanning_keeps_unchanged_and_started_schedules(
    broker: Any, peers: Any, tmp_path: Path
) -> None:
    control, clock, st = await started(broker, tmp_path, price_fn=rising_prices)
    ev_t = f"hems/{SITE}/appliance/ev"
    dw = peers(broker.port, "dishwasher", subscribe=[f"{DW}/schedule"])
    ev = peers(broker.port, "ev", subscribe=[f"{ev_t}/schedule"])
    try:
        dw.publish(f"{DW}/request", json.dumps(DISH))
        first = json.loads((await expect(dw, f"{DW}/schedule", control, clock)).payload)
        assert first["start"] == "2026-01-15T20:00:00+00:00" or first["start"].startswith(
            "2026-01-15T21:00:00+01"
        )
        dw.publish(f"{DW}/ack", json.dumps({"version": 1}))
        request = {
            "seq": 1,
            "kind": "energy",
            "energy_kwh": 7.4,
            "min_kw": 1.4,
            "max_kw": 7.4,
            "earliest_start": "2026-01-15T17:00:00+00:00",
            "latest_end": "2026-01-16T05:00:00+00:00",
        }
        ev.publish(f"{ev_t}/request", json.dumps(request))
        ev_v1 = json.loads((await expect(ev, f"{ev_t}/schedule", control, clock)).payload)
        ev.publish(f"{ev_t}/ack", json.dumps({"version": ev_v1["version"]}))
        for _ in range(300):
            await control.on_cycle(Snapshot(time=clock.now()))
            if control.book.entries["ev"].acked == ev_v1["version"]:
                break
            await asyncio.sleep(0.01)
        assert control.plans_made == 2
        assert control.book.entries["dishwasher"].version == 1  # same plan for it: no new version
        clock.set(datetime(2026, 1, 15, 20, 20, tzinfo=UTC))  # the dishwasher is running now
        ev.publish(f"{ev_t}/request", json.dumps({**request, "seq": 2, "energy_kwh": 3.0}))
        ev_v2 = json.loads((await expect(ev, f"{ev_t}/schedule", control, clock, step_s=0.01)).payload)
        assert ev_v2["version"] == 2 and ev_v2["seq"] == 2
        assert control.plans_made == 3
        assert control.book.entries["dishwasher"].version == 1
        assert control.plan is not None
        running = control.plan["plan"]["appliances"]["dishwasher"]  # a started program, on its line
        assert running["start"] == first["start"]  # not moved
        assert set(control.plan["schedules"]) == {"dishwasher", "ev"}
    finally:
        await control.stop()
        st.close()
