"""The in-process bus keeps MQTT's semantics where the protocol relies on them; a program's request
announces its slot means."""

from __future__ import annotations

from datetime import UTC, datetime

from devices.appliances.device import Need
from devices.appliances.link import LocalBus, topic_matches
from devices.simulated.behaviour import DISHWASHER


def test_filters() -> None:
    assert topic_matches("hems/+/appliance/+/request", "hems/h/appliance/ev/request")
    assert not topic_matches("hems/+/appliance/+/request", "hems/h/appliance/ev/state")
    assert topic_matches("hems/#", "hems") and topic_matches("hems/#", "hems/a/b")
    assert not topic_matches("hems/a", "hems/a/b")


def test_retained_no_local_and_last_will() -> None:
    bus = LocalBus()
    box = bus.client("box", will=("hems/h/status", b"offline", True))
    box.publish("hems/h/status", b"online", retain=True)
    box.subscribe("hems/h/appliance/+/ack", no_local=True)
    box.publish("hems/h/appliance/ev/ack", b"from the box")  # no local: not echoed
    assert box.receive() == []
    ev = bus.client("ev")
    ev.subscribe("hems/h/status")  # retained: delivered at once
    assert [(m.topic, m.payload, m.retain) for m in ev.receive()] == [("hems/h/status", b"online", True)]
    ev.publish("hems/h/appliance/ev/ack", b'{"version": 1}')
    assert [m.payload for m in box.receive()] == [b'{"version": 1}']
    box.close(clean=False)  # lost: the will goes out, and is retained
    assert [m.payload for m in ev.receive()] == [b"offline"]
    late = bus.client("late")
    late.subscribe("hems/h/status")
    assert [m.payload for m in late.receive()] == [b"offline"]
    ev.publish("hems/h/status", b"", retain=True)  # an empty retained payload deletes it
    assert "hems/h/status" not in bus.retained


def test_a_program_announces_its_quarter_hour_means() -> None:
    t = datetime(2026, 1, 15, 18, tzinfo=UTC)
    need = Need("dishwasher", "k", "shiftable", t, t, t, DISHWASHER)
    # 20 min at 2000 W, 40 at 90, 15 at 1900, 25 at 60: quarter-hour means (the last is 10 min of 15)
    assert need.profile_kw() == [2.0, 0.7267, 0.09, 0.09, 1.9, 0.06, 0.04]
    assert round(sum(need.profile_kw()) * 0.25, 4) == round(need.energy_kwh, 4)
