"""Floods and resource exhaustion over a real mosquitto (issue 15 items 10–14): what a hostile
publisher may cost the box is bounded, and a legitimate appliance still gets its schedule."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from hems.mqtt.payloads import MAX_PAYLOAD_BYTES
from hems.snapshot import Snapshot
from tests.control.test_mqtt_e2e import DISH, DW, SITE, T0, expect, started


async def _cycles(control: Any, clock: Any, n: int = 60) -> None:
    for _ in range(n):  # within one minute of the box's clock
        clock.advance(0.5)
        await control.on_cycle(Snapshot(time=clock.now()))
        await asyncio.sleep(0.01)


async def test_invented_ids_cannot_flood_the_event_log(broker: Any, peers: Any, tmp_path: Path) -> None:
    control, clock, st = await started(broker, tmp_path)
    rogue = peers(broker.port, "rogue")
    try:
        for i in range(300):
            rogue.client.publish(f"hems/{SITE}/appliance/invented-{i}/request", b"garbage", qos=1)
        for i in range(50):
            rogue.client.publish(f"{DW}/request", b"garbage %d" % i, qos=1)
        await _cycles(control, clock, 120)
        events = st.events(T0, T0 + timedelta(hours=1), kind="mqtt.rejected")
        unknown = [e for e in events if e.data["appliance"].startswith("invented-")]
        assert len(unknown) <= 10 and len(events) <= 30, len(events)
        assert control.guard.silenced >= 300
    finally:
        await control.stop()
        st.close()


async def test_deep_nesting_is_refused_without_a_traceback(
    broker: Any, peers: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    control, clock, st = await started(broker, tmp_path)
    dw = peers(broker.port, "dishwasher", subscribe=[f"{DW}/schedule", f"{DW}/ack"])
    deep = b"{" + b'"a":[' * 2500 + b"]" * 2500 + b"}"
    assert len(deep) < MAX_PAYLOAD_BYTES
    try:
        with caplog.at_level(logging.DEBUG):
            for _ in range(50):
                dw.client.publish(f"{DW}/ack", deep, qos=1)
            await _cycles(control, clock, 40)
        assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text
        reasons = [json.loads(p)["reason"] for t, p, _ in [(m.topic, m.payload, 0) for m in _drain(dw)]]
        assert reasons and all("arrays and objects" in r for r in reasons)
        dw.publish(f"{DW}/request", json.dumps(DISH))  # the appliance is still served
        await expect(dw, f"{DW}/schedule", control, clock)
    finally:
        await control.stop()
        st.close()


def _drain(peer: Any) -> list[Any]:
    out = []
    while not peer.messages.empty():
        out.append(peer.messages.get_nowait())
    return out


async def test_oversized_payloads_never_reach_the_queue(broker: Any, peers: Any, tmp_path: Path) -> None:
    control, clock, st = await started(broker, tmp_path)
    dw = peers(broker.port, "dishwasher", subscribe=[f"{DW}/schedule"])
    try:
        big = b"{" + b" " * (1024 * 1024) + b"}"
        for _ in range(10):
            dw.client.publish(f"{DW}/request", big, qos=1)
        dw.publish(f"{DW}/request", json.dumps(DISH))
        await expect(dw, f"{DW}/schedule", control, clock)
        # the broker honours the box's Maximum Packet Size, and what gets through is dropped on arrival
        bridge = control.bridge
        assert bridge is not None and bridge.queue.qsize() == 0
        message = mqtt.MQTTMessage(topic=f"{DW}/request".encode())
        message.payload = big
        bridge._on_message(bridge._client, None, message)
        assert bridge.oversized == 1 and bridge.queue.qsize() == 0
    finally:
        await control.stop()
        st.close()


async def test_home_assistant_announcements_get_discovery_once_a_minute(
    broker: Any, peers: Any, tmp_path: Path
) -> None:
    control, clock, st = await started(broker, tmp_path)
    topic = f"homeassistant/device/hems_{SITE.replace('-', '_')}/config"
    ha = peers(broker.port, "homeassistant", subscribe=[topic])
    try:
        await _cycles(control, clock, 5)
        _drain(ha)  # the retained document from the connection
        for _ in range(100):
            ha.client.publish("homeassistant/status", b"online", qos=1)
        await _cycles(control, clock, 60)
        await asyncio.sleep(0.5)
        assert len([m for m in _drain(ha) if m.topic == topic]) <= 1
    finally:
        await control.stop()
        st.close()


async def test_a_huge_seq_locks_an_appliance_out_only_until_it_restarts(
    broker: Any, peers: Any, tmp_path: Path
) -> None:
    control, clock, st = await started(broker, tmp_path)
    dw = peers(broker.port, "dishwasher", subscribe=[f"{DW}/schedule", f"{DW}/ack"])
    try:
        dw.publish(f"{DW}/request", json.dumps({**DISH, "seq": 2**53}))
        await expect(dw, f"{DW}/schedule", control, clock)
        dw.publish(f"{DW}/request", json.dumps({**DISH, "seq": 1}))
        m = await expect(dw, f"{DW}/ack", control, clock)
        assert "replayed request" in json.loads(m.payload)["reason"]
        # it restarts: its last will says offline, then it comes back and counts from 1
        dw.publish(f"{DW}/state", b"offline")
        dw.publish(f"{DW}/state", b"online")
        await _cycles(control, clock, 5)
        assert control.book.entries["dishwasher"].last_seq == -1
        dw.publish(f"{DW}/request", json.dumps({**DISH, "seq": 1}))
        m = await expect(dw, f"{DW}/schedule", control, clock)
        while not m.payload:  # the withdrawal of the schedule it had when it went offline
            m = await expect(dw, f"{DW}/schedule", control, clock)
        assert json.loads(m.payload)["seq"] == 1
        assert control.book.entries["dishwasher"].last_seq == 1
    finally:
        await control.stop()
        st.close()
