"""Property tests: arbitrary bytes and bit-flipped real frames never raise and never yield a
reading from a frame that fails its checks."""

from __future__ import annotations

import pytest
from han_testdata import VECTORS, is_valid, payload
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.han import framing
from devices.han.decode import MeterReading, parse_frame
from devices.han.errors import REASONS, FrameError
from devices.han.stream import StreamDecoder

HDLC = [
    payload(v) for v in VECTORS if v.get("hex", "").startswith("7e") and is_valid(v) and not v["encrypted"]
]
P1_WITH_CRC = [payload(v) for v in VECTORS if "telegram" in v and v["crc"]["field"]]
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_reading_is_sound(reading: MeterReading) -> None:
    """A reading only ever comes from bytes that pass their own checks when parsed alone."""
    raw = reading.raw
    if raw[:1] == b"\x7e":
        pos = 0  # one frame, or reassembled segments: each checked on its own
        while pos < len(raw):
            total = framing.hdlc_length(raw, pos)
            assert total is not None
            framing.parse_hdlc(raw[pos : pos + total])
            pos += total
    else:
        parse_frame(raw)


@SETTINGS
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    try:
        parse_frame(data)
    except FrameError as exc:
        assert exc.reason in REASONS
    decoder = StreamDecoder()
    for _offset, result in decoder.feed(data) + decoder.flush():
        if isinstance(result, MeterReading):
            _check_reading_is_sound(result)
        else:
            assert result.reason in REASONS


@SETTINGS
@given(frame=st.sampled_from(HDLC), junk=st.binary(max_size=80), data=st.data())
def test_real_frames_inside_arbitrary_bytes_are_found(frame: bytes, junk: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(junk)))
    decoder = StreamDecoder()
    results = decoder.feed(junk[:cut] + frame + junk[cut:]) + decoder.flush()
    readings = [r for _o, r in results if isinstance(r, MeterReading)]
    assert any(r.raw == frame for r in readings)
    for reading in readings:
        _check_reading_is_sound(reading)


def _flip(frame: bytes, bits: list[int]) -> bytes:
    out = bytearray(frame)
    for bit in set(bits):
        out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@SETTINGS
@given(data=st.data())
def test_bit_flipped_hdlc_frames_are_rejected(data: st.DataObject) -> None:
    frame = data.draw(st.sampled_from(HDLC))
    bits = data.draw(st.lists(st.integers(0, len(frame) * 8 - 1), min_size=1, max_size=3, unique=True))
    damaged = _flip(frame, bits)
    with pytest.raises(FrameError):
        parse_frame(damaged)
    decoder = StreamDecoder()
    assert [r for _o, r in decoder.feed(damaged) + decoder.flush() if isinstance(r, MeterReading)] == []


@SETTINGS
@given(data=st.data())
def test_bit_flipped_p1_telegrams_are_rejected(data: st.DataObject) -> None:
    telegram = data.draw(st.sampled_from(P1_WITH_CRC))
    start, bang = telegram.index(b"/"), telegram.index(b"!")
    bits = data.draw(st.lists(st.integers(start * 8, bang * 8 + 7), min_size=1, max_size=3, unique=True))
    damaged = _flip(telegram, bits)
    try:
        reading = parse_frame(damaged)
    except FrameError:
        return
    # Only a flip that removes the checked region's boundaries may parse; then it is not this telegram.
    pytest.fail(f"damaged telegram decoded: {reading.fields.get('meter_type')}")
