"""Topic builders and payload parsing without a broker; hostile input only ever gives a reason."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hems.mqtt import topics
from hems.mqtt.payloads import (
    MAX_PAYLOAD_BYTES,
    Command,
    PayloadError,
    Rejection,
    dump,
    is_from_hems,
    parse_ack,
    parse_request,
    parse_status,
)

DISH = {
    "seq": 1,
    "kind": "shiftable",
    "profile_kw": [1.9, 0.2, 0.2, 1.8],
    "earliest_start": "2026-01-15T18:00:00+01:00",
    "latest_end": "2026-01-16T00:00:00+01:00",
}
EV = {
    "seq": 7,
    "kind": "energy",
    "energy_kwh": 18.0,
    "min_kw": 1.4,
    "max_kw": 7.4,
    "earliest_start": "2026-01-15T17:00:00+01:00",
    "latest_end": "2026-01-16T07:00:00+01:00",
}


def raw(doc: object) -> bytes:
    return json.dumps(doc).encode()


def test_topics() -> None:
    assert topics.appliance("home", "dishwasher", "schedule") == "hems/home/appliance/dishwasher/schedule"
    assert topics.appliance_filter("home", "request") == "hems/home/appliance/+/request"
    assert topics.parse_appliance_topic("home", "hems/home/appliance/ev/ack") == ("ev", "ack")
    assert topics.parse_appliance_topic("home", "hems/other/appliance/ev/ack") is None
    assert topics.parse_appliance_topic("home", "hems/home/appliance/EV/ack") is None
    assert topics.parse_appliance_topic("home", "hems/home/appliance/ev/x/ack") is None
    assert topics.status("my-home") == "hems/my-home/status"
    assert topics.ha_discovery("my-home") == "homeassistant/device/hems_my_home/config"
    with pytest.raises(ValueError, match="appliance id"):
        topics.appliance("home", "../x", "set")
    with pytest.raises(ValueError, match="leaf"):
        topics.appliance("home", "ev", "secret")


def test_valid_requests() -> None:
    dish = parse_request(raw(DISH))
    assert dish.profile_kw == [1.9, 0.2, 0.2, 1.8] and dish.earliest_start is not None
    assert dish.earliest_start.utcoffset() is not None
    ev = parse_request(raw(EV))
    assert ev.energy_kwh == 18.0 and ev.max_kw == 7.4
    assert parse_request(raw({"seq": 8, "kind": "cancel"})).kind == "cancel"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"seq": "1"}, "seq"),  # wrong type, no coercion
        ({"profile_kw": [1.0, "x"]}, "profile_kw"),
        ({"profile_kw": [1.0, 1e9]}, "0..50 kW"),
        ({"latest_end": "2026-01-15T17:00:00+01:00"}, "after earliest_start"),
        ({"earliest_start": "2026-01-15T18:00:00"}, "earliest_start"),  # naive time
        ({"latest_end": "2026-01-20T00:00:00+01:00"}, "window longer"),
        ({"profile_kw": [1.0] * 30}, "longer than its window"),
        ({"owner": "me"}, "owner"),  # unknown key
        ({"energy_kwh": 3.0}, "no energy_kwh"),
    ],
)
def test_malformed_requests_give_a_reason(change: dict, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        parse_request(raw({**DISH, **change}))


def test_impossible_energy_and_nan_are_refused() -> None:
    with pytest.raises(PayloadError, match="cannot be delivered"):
        parse_request(raw({**EV, "energy_kwh": 150.0}))
    with pytest.raises(PayloadError):
        parse_request(b'{"seq": 1, "kind": "energy", "energy_kwh": NaN}')


def test_huge_payload_is_refused_before_parsing() -> None:
    big = raw({**DISH, "pad": "x" * MAX_PAYLOAD_BYTES})
    with pytest.raises(PayloadError, match="larger than"):
        parse_request(big)


def test_ack_and_status() -> None:
    assert parse_ack(b'{"version": 3}').accepted is True
    with pytest.raises(PayloadError, match="version"):
        parse_ack(b'{"version": 0}')
    assert parse_status(b"offline").online is False
    st_ = parse_status(b'{"online": true, "running": true, "p_w": 1900.5}')
    state = st_.to_state(datetime(2026, 1, 15, tzinfo=UTC))
    assert state.running and state.p_w == 1900.5


def test_hems_messages_are_recognised_on_the_shared_ack_topic() -> None:
    t = datetime(2026, 1, 15, tzinfo=UTC)
    rej = dump(Rejection(rejected="request", reason="seq: replayed", time=t, seq=3))
    assert is_from_hems(rej)
    assert not is_from_hems(b'{"version": 2}')
    assert not is_from_hems(b"\xff\xfe")
    assert json.loads(dump(Command(action="limit", limit_kw=2.0, time=t)))["limit_kw"] == 2.0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_only_ever_raise_payload_error(data: bytes) -> None:
    for parse in (parse_request, parse_ack, parse_status):
        with contextlib.suppress(PayloadError):
            parse(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from([*DISH, *EV, "cancel", "x"]),
        st.none() | st.integers() | st.text() | st.floats() | st.lists(st.floats(), max_size=5),
    )
)
def test_random_documents_only_ever_raise_payload_error(doc: dict) -> None:
    with contextlib.suppress(PayloadError):
        parse_request(json.dumps(doc).encode())
