"""`DriverHost` in the box: configuration errors in one line, SG Ready driven from the day's prices
over a bus with two simulated Tasmota relays, and a charger with wrong credentials reported while
the cycle goes on."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices.appliances.link import LocalBus
from devices.simulated.chargepoint import run_charge_point
from devices.simulated.relays import ConstantLoad, SimTasmota
from hems.clock import ManualClock
from hems.config import parse_config
from hems.control.drivers import DriverHost
from hems.errors import UsageError
from hems.snapshot import Snapshot

from .conftest import free_port


def config(*appliances: dict[str, Any], **more: Any) -> Any:
    return parse_config({"site": {"id": "home"}, "appliance": list(appliances), **more})


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"id": "wh", "kind": "thermal", "power_kw": 2.0, "driver": "shelly"},
            "appliance wh: driver 'shelly' needs device.topic, device.energy_kwh and device.window",
        ),
        (
            {
                "id": "ev",
                "kind": "energy",
                "power_kw": 11.0,
                "driver": "ocpp",
                "device": {"password": "short"},
            },
            "password",
        ),
        (
            {"id": "b", "kind": "battery", "power_kw": 5.0, "capacity_kwh": 10.0, "driver": "sunspec"},
            "appliance b: driver 'sunspec' needs device.host",
        ),
        (
            {
                "id": "wh",
                "kind": "thermal",
                "power_kw": 2.0,
                "driver": "tasmota",
                "device": {"topic": "boiler", "energy_kwh": 6, "window": "25:00-07:00"},
            },
            "times are HH:MM",
        ),
    ],
)
def test_driver_settings_are_checked_with_one_clear_line(table: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError) as info:
        config(table)
    assert message in str(info.value)
    assert "Traceback" not in str(info.value)


async def test_sg_ready_follows_the_days_prices_on_two_relays() -> None:
    t0 = datetime(2026, 1, 15, 16, 0, tzinfo=UTC)  # 17:00 in Oslo: the dear evening
    clock = ManualClock(t0)

    def prices(slots: list[datetime], minutes: int) -> tuple[list[float], list[float]]:
        hour = [t.astimezone(UTC).hour for t in slots]
        return [3.0 if 15 <= h < 18 else (0.3 if 1 <= h < 5 else 1.0) for h in hour], [0.0] * len(slots)

    table = {
        "id": "hp",
        "kind": "relay",
        "power_kw": 3.0,
        "driver": "sg-ready",
        "device": {"topic": "sg-a", "topic_b": "sg-b", "channel_b": 0},
    }
    bus = LocalBus()
    a, b = (SimTasmota(bus.client(t), t, ConstantLoad(1.0)) for t in ("sg-a", "sg-b"))
    host = DriverHost(config(table), clock, prices=prices, bus=bus)
    await host.start()
    seen = []
    for _ in range(6):
        host.on_cycle(Snapshot(clock.now()))
        for sim in (a, b):
            sim.tick(clock.now())
        seen.append((a.output, b.output))
        clock.advance(10)
    assert seen[-1] == (True, False)  # state 1: blocked in the dear hours
    assert host.sg["hp"].fault is None
    clock.advance(timedelta(hours=10).total_seconds())  # 03:00 in Oslo: cheap
    for _ in range(3):
        host.on_cycle(Snapshot(clock.now()))
        for sim in (a, b):
            sim.tick(clock.now())
        clock.advance(10)
    assert (a.output, b.output) == (False, True)  # state 3: boost
    await host.stop()


async def test_a_charger_with_wrong_credentials_is_an_event_and_the_cycle_goes_on() -> None:
    port = free_port()
    table = {
        "id": "ev",
        "kind": "energy",
        "power_kw": 11.0,
        "driver": "ocpp",
        "device": {"charge_point": "cp-9", "password": "right-password"},
    }
    clock = ManualClock(datetime(2026, 1, 15, 16, 0, tzinfo=UTC))
    host = DriverHost(config(table, ocpp={"host": "127.0.0.1", "port": port}), clock, bus=LocalBus())
    await host.start()
    task = asyncio.create_task(run_charge_point(f"ws://127.0.0.1:{port}", "cp-9", "wrong-password"))
    try:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)
        host.on_cycle(Snapshot(clock.now()))
        assert ("appliance.problem", "charge point 'cp-9' refused: wrong credentials") in host.events
        assert host.central.chargers["cp-9"][0].wire is None
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await host.stop()


async def test_relays_without_a_broker_are_a_fault_event_not_a_crash() -> None:
    table = {
        "id": "wh",
        "kind": "thermal",
        "power_kw": 2.0,
        "driver": "shelly",
        "device": {"topic": "shellyplus1pm-x", "energy_kwh": 6, "window": "22:00-07:00"},
    }
    clock = ManualClock(datetime(2026, 1, 15, 16, 0, tzinfo=UTC))
    host = DriverHost(config(table), clock)  # no [mqtt], no bus
    await host.start()
    host.on_cycle(Snapshot(clock.now()))
    assert host.events == [
        (
            "appliance.fault",
            "wh: driver 'shelly' not started: drivers need [mqtt] (or the demo's in-process bus)",
        )
    ]
    await host.stop()


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_the_box_plan_reaches_the_charger_whole_and_a_limit_lowers_it_within_one_cycle(
    version: str,
) -> None:
    """The path in the box: the agent's request, the box's schedule on the bus, the host handing
    the whole plan to the charger as one profile, then a load-shedding ``limit`` in one cycle."""
    import json

    port = free_port()
    table = {
        "id": "ev",
        "kind": "energy",
        "power_kw": 11.0,
        "min_kw": 4.14,
        "driver": "ocpp",
        "device": {"charge_point": "cp-7", "password": "right-password"},
    }
    t0 = datetime(2026, 1, 15, 20, 5, tzinfo=UTC)
    clock = ManualClock(t0)
    bus = LocalBus()
    box = bus.client("box")
    box.subscribe("hems/home/appliance/ev/#")
    box.publish("hems/home/status", b"online", retain=True)
    host = DriverHost(config(table, ocpp={"host": "127.0.0.1", "port": port}), clock, bus=bus)
    await host.start()
    state: dict[str, Any] = {}
    task = asyncio.create_task(
        run_charge_point(
            f"ws://127.0.0.1:{port}",
            "cp-7",
            "right-password",
            version=version,
            now=clock.now,
            meter_s=0.1,
            state=state,
        )
    )
    charger = host.central.chargers["cp-7"][0]

    async def cycles(until: Any, most: int = 100) -> list[Any]:
        got: list[Any] = []
        for _ in range(most):
            host.on_cycle(Snapshot(clock.now()))
            got += box.receive()
            if until(got):
                return got
            await asyncio.sleep(0.05)
        raise AssertionError(f"not within {most} cycles: {[m.topic for m in got]}")

    try:
        got = await cycles(lambda got: any(m.topic.endswith("/request") for m in got))
        seq = next(json.loads(m.payload)["seq"] for m in got if m.topic.endswith("/request"))
        kw = [7.0, 11.0, 0.0, 0.0, 4.2]
        schedule = {"version": 1, "seq": seq, "slot_start": "2026-01-15T20:00:00+00:00", "slot_minutes": 15}
        box.publish("hems/home/appliance/ev/schedule", json.dumps({**schedule, "power_kw": kw}).encode())
        await cycles(lambda got: state["schedule"] is not None and state["started"])
        at, periods = state["schedule"]
        assert datetime.fromisoformat(at) == datetime(2026, 1, 15, 20, 0, tzinfo=UTC)
        assert [s for s, _ in periods] == [0, 900, 1800, 3600, 4500]
        assert [w for _, w in periods] == [
            pytest.approx(k * 1000, abs=35) for k in (7.0, 11.0, 0.0, 4.2, 0.0)
        ]
        await cycles(lambda got: abs((charger.p_w or 0) - 6969) < 1)
        # before the plan it waited at 0 W (a stack-level-2 profile); the plan cleared that
        assert state["profiles"] == 2 and list(charger.accepted) == [1]
        # load shedding: the box's limit goes to the charger in the cycle that reads it
        box.publish("hems/home/appliance/ev/set", json.dumps({"action": "limit", "limit_kw": 4.2}).encode())
        host.on_cycle(Snapshot(clock.now()))
        await asyncio.sleep(0.5)  # the websocket round trip, far less than a cycle
        assert state["limit_w"] == pytest.approx(4209) and state["profiles"] == 3
        assert state["schedule"][1] == periods  # the schedule stays under the override
        assert not [e for e in host.events if e[0] != "appliance.recovered"], host.events
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await host.stop()
