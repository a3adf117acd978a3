"""SG Ready: the state chosen from the day's prices within the comfort limits, and the two contacts
driven on a simulated two-channel Shelly on a real mosquitto."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from devices.appliances.drivers.relays import ShellyGen2
from devices.appliances.drivers.sgready import Comfort, SgReady, choose_state
from devices.appliances.link import Fanout
from devices.appliances.mqtt_link import MqttLink
from devices.simulated.relays import ConstantLoad, SimShellyGen2

from .conftest import Broker

T0 = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)
# hourly prices: cheap at night, dear 07-09 and 17-20
PRICES = [0.5] * 6 + [
    1.0,
    2.5,
    2.4,
    1.2,
    1.0,
    0.9,
    0.9,
    0.9,
    1.0,
    1.2,
    1.5,
    2.6,
    2.8,
    2.7,
    1.5,
    1.0,
    0.7,
    0.6,
]


def test_boost_in_cheap_hours_block_in_dear_ones() -> None:
    c = Comfort(boost_hours=4, block_hours=4, max_block_h=2, min_gap_h=1)
    assert choose_state(PRICES, 2, 60, c, None, None, T0 + timedelta(hours=2)) == 3
    assert choose_state(PRICES, 12, 60, c, None, None, T0 + timedelta(hours=12)) == 2
    assert choose_state(PRICES, 18, 60, c, None, None, T0 + timedelta(hours=18)) == 1
    assert choose_state(PRICES, 2, 60, Comfort(force=True), None, None, T0) == 4


def test_comfort_limits_cut_a_block_short() -> None:
    c = Comfort(block_hours=4, max_block_h=2, min_gap_h=1)
    at = T0 + timedelta(hours=19)
    assert choose_state(PRICES, 19, 60, c, at - timedelta(hours=2), None, at) == 2  # 2 h in a row: heat
    assert choose_state(PRICES, 19, 60, c, None, at - timedelta(minutes=30), at) == 2  # too soon again
    assert choose_state(PRICES, 18, 60, c, None, None, at, outdoor_c=-20.0) == 2  # too cold to block
    flat = [1.0] * 24
    assert {choose_state(flat, i, 60, c, None, None, T0) for i in range(24)} == {2}  # a flat day: normal


def test_two_contacts_on_a_two_channel_shelly(broker: Broker) -> None:
    box = MqttLink("127.0.0.1", broker.port, "box")
    dev = MqttLink("127.0.0.1", broker.port, "dev")
    try:
        assert box.connected.wait(5) and dev.connected.wait(5)
        topic = "shellyplus2pm-heatpump"
        shared, dev_shared = Fanout(box), Fanout(dev)  # two drivers on one connection, each side
        sims = [SimShellyGen2(dev_shared.view(), topic, ConstantLoad(1.0), channel=ch) for ch in (0, 1)]
        a, b = (ShellyGen2(f"hp-{ch}", shared.view(), topic, ch, 1.0) for ch in (0, 1))
        sg = SgReady("heat-pump", a, b, Comfort(), confirm_s=2.0)
        time.sleep(0.3)
        for state, contacts in ((1, (True, False)), (3, (False, True)), (2, (False, False))):
            sg.set_state(datetime.now(UTC), state)  # type: ignore[arg-type]
            for _ in range(3):
                now = datetime.now(UTC)
                for s in sims:
                    s.tick(now)
                time.sleep(0.2)
                sg.poll(datetime.now(UTC))
            assert (sims[0].output, sims[1].output) == contacts
            ra, rb = sg.a.poll(datetime.now(UTC)), sg.b.poll(datetime.now(UTC))
            assert ra is not None and rb is not None and (ra.on, rb.on) == contacts
            assert sg.fault is None
    finally:
        box.close()
        dev.close()
