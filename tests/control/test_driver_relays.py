"""The relay drivers against simulated Shelly (Gen1, Gen2) and Tasmota relays on a real mosquitto."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from devices.appliances.drivers.base import DrivenDevice
from devices.appliances.drivers.relays import RELAYS
from devices.appliances.mqtt_link import MqttLink
from devices.simulated.relays import SIM_RELAYS, ConstantLoad, SimRelay

from .conftest import Broker

TOPICS = {
    "shelly": "shellyplus1pm-a8032ab12345",
    "shelly-gen1": "shelly1pm-84CCA8A11111",
    "tasmota": "boiler",
}


class Rig:
    def __init__(self, broker: Broker, dialect: str, mode: str = "ok") -> None:
        self.box_link = MqttLink("127.0.0.1", broker.port, f"box-{dialect}")
        self.dev_link = MqttLink("127.0.0.1", broker.port, f"dev-{dialect}")
        for link in (self.box_link, self.dev_link):
            assert link.connected.wait(5)
        self.load = ConstantLoad(2000.0)
        self.sim: SimRelay = SIM_RELAYS[dialect](self.dev_link, TOPICS[dialect], self.load, mode=mode)
        actuator = RELAYS[dialect]("heater", self.box_link, TOPICS[dialect], 0, 2000.0)
        self.device = DrivenDevice("heater", "energy", actuator, None, datetime.now(UTC), confirm_s=1.0)
        self.problems: list[str] = []
        self.device.on_problem = self.problems.append
        time.sleep(0.3)  # subscriptions settle

    def cycle(self) -> datetime:
        """One box cycle (0.2 s here): the relay acts on what it got, the box reads back."""
        now = datetime.now(UTC)
        self.sim.tick(now)
        time.sleep(0.2)
        now = datetime.now(UTC)
        self.device.poll(now)
        return now

    def close(self) -> None:
        self.box_link.close()
        self.dev_link.close()


@pytest.fixture
def rigs(broker: Broker) -> Iterator[list[Rig]]:
    made: list[Rig] = []
    yield made
    for r in made:
        r.close()


@pytest.mark.parametrize("dialect", ["shelly", "shelly-gen1", "tasmota"])
def test_switching_is_confirmed_by_read_back_power_within_two_cycles(
    broker: Broker, rigs: list[Rig], dialect: str
) -> None:
    rig = Rig(broker, dialect)
    rigs.append(rig)
    rig.cycle()
    rig.device.set_power(datetime.now(UTC), None)  # full power: switch on
    cycles = 0
    while cycles < 2:
        cycles += 1
        rig.cycle()
        r = rig.device.reading
        if r is not None and r.on and r.p_w == pytest.approx(2000.0, abs=1):
            break
    assert rig.device.status(datetime.now(UTC)).p_w == pytest.approx(2000.0, abs=1)
    assert rig.sim.output is True
    rig.device.set_power(datetime.now(UTC), 0.0)
    rig.cycle()
    rig.cycle()
    assert rig.device.reading is not None and rig.device.reading.on is False
    assert rig.device.fault is None and rig.problems == []


@pytest.mark.parametrize("dialect", ["shelly", "tasmota"])
def test_a_relay_that_never_confirms_is_a_fault(broker: Broker, rigs: list[Rig], dialect: str) -> None:
    rig = Rig(broker, dialect, mode="mute")
    rigs.append(rig)
    rig.device.follow.stale_s = 1.0
    rig.device.set_power(datetime.now(UTC), None)
    for _ in range(8):
        rig.cycle()
    assert rig.sim.commands >= 1  # it got the command, and said nothing
    assert rig.device.fault is not None and "no report" in rig.device.fault


@pytest.mark.parametrize("dialect", ["shelly", "shelly-gen1", "tasmota"])
def test_a_relay_switched_by_hand_is_noticed(broker: Broker, rigs: list[Rig], dialect: str) -> None:
    rig = Rig(broker, dialect, mode="manual")
    rigs.append(rig)
    rig.cycle()
    rig.device.set_power(datetime.now(UTC), None)
    for _ in range(8):
        rig.cycle()
    assert rig.device.fault is not None and "does not follow: told 2000 W, is off" in rig.device.fault


@pytest.mark.parametrize("dialect", ["shelly", "shelly-gen1", "tasmota"])
def test_garbage_payloads_are_problems_not_crashes(broker: Broker, rigs: list[Rig], dialect: str) -> None:
    rig = Rig(broker, dialect, mode="garbage")
    rigs.append(rig)
    rig.device.set_power(datetime.now(UTC), None)
    for _ in range(3):
        rig.cycle()
    assert rig.problems and all("unreadable message" in p for p in rig.problems)
