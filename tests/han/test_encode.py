"""The encoder's frames decode back to the values put in (at each vendor's resolution)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.han.decode import parse_frame
from devices.han.encode import encode_aidon_list, encode_grid_reading, encode_kamstrup_list
from devices.han.stream import StreamDecoder
from devices.natures import GridReading

power = st.integers(0, 60_000)
amps = st.floats(-60, 60, allow_nan=False).map(lambda a: round(a, 1))
volts = st.floats(180, 260, allow_nan=False).map(lambda v: round(v, 1))
kwh = st.integers(0, 42_000_000).map(lambda e: e / 100)  # 10 Wh resolution, < 2**32 counts
OSLO = ZoneInfo("Europe/Oslo")
# hypothesis takes naive bounds; the times it draws are aware UTC
clock = (
    st.datetimes(datetime(2021, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC))  # noqa: DTZ001
    .map(lambda t: t.replace(microsecond=0))
    # a wall clock cannot tell the two 02:30s of the autumn night apart (the meters' limitation)
    .filter(lambda t: t.astimezone(OSLO).replace(tzinfo=None).replace(tzinfo=OSLO).astimezone(UTC) == t)
)


@settings(max_examples=60, deadline=None)
@given(p=power, q=power, i=st.tuples(amps, amps, amps), u=st.tuples(volts, volts, volts), e=kwh, t=clock)
def test_aidon_list3_round_trip(
    p: int, q: int, i: tuple[float, ...], u: tuple[float, ...], e: float, t: datetime
) -> None:
    frame = encode_aidon_list(3, p_import_w=p, q_export_var=q, i_a=i, u_v=u, e_import_kwh=e, meter_clock=t)
    fields = parse_frame(frame).fields
    assert (fields["p_import_w"], fields["q_export_var"], fields["list"]) == (p, q, 3)
    assert [fields[f"i_l{n}_a"] for n in (1, 2, 3)] == pytest.approx(list(i))
    assert [fields[f"u_l{n}_v"] for n in (1, 2, 3)] == pytest.approx(list(u))
    assert fields["e_import_kwh"] == pytest.approx(e)
    grid = parse_frame(frame).to_grid_reading(t)
    assert grid.meter_clock == t  # written as Oslo wall clock, read back as Oslo wall clock


@settings(max_examples=40, deadline=None)
@given(p=power, i=st.tuples(*[st.integers(0, 9000).map(lambda a: a / 100)] * 3), e=kwh, t=clock)
def test_kamstrup_hourly_round_trip(p: int, i: tuple[float, ...], e: float, t: datetime) -> None:
    frame = encode_kamstrup_list(3, p_import_w=p, i_a=i, u_v=(230, 231, 232), e_import_kwh=e, meter_clock=t)
    fields = parse_frame(frame).fields
    assert fields["p_import_w"] == p and fields["vendor"] == "Kamstrup"
    assert [fields[f"i_l{n}_a"] for n in (1, 2, 3)] == pytest.approx(list(i))
    assert fields["e_import_kwh"] == pytest.approx(e)


@pytest.mark.parametrize("list_no", [1, 2, 3])
def test_aidon_phases_and_lists(list_no: int) -> None:
    one_phase = encode_aidon_list(list_no, p_import_w=500, i_a=(2.5, None, None), u_v=(231.0, None, None))
    fields = parse_frame(one_phase).fields
    assert fields["list"] == list_no
    if list_no > 1:
        assert fields["meter_type"] == "6515" and fields["network"] == "1P" and "i_l2_a" not in fields


@pytest.mark.parametrize("vendor", ["aidon", "kamstrup", "p1"])
def test_grid_reading_round_trip_through_the_stream(vendor: str) -> None:
    received = datetime(2026, 3, 1, 12, 0, 10, tzinfo=UTC)
    reading = GridReading(
        time=received, p_import_w=3210.0, p_export_w=0.0, i_l1_a=4.5, i_l2_a=6.5, i_l3_a=3.0,
        u_l1_v=231.0, u_l2_v=229.0, u_l3_v=232.0, e_import_kwh=1234.5, e_export_kwh=0.0,
        meter_id="7359992890123456", meter_clock=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    )  # fmt: skip
    frame = encode_grid_reading(reading, list_no=3, vendor=vendor)
    ((_offset, decoded),) = StreamDecoder().feed(b"\x00\xff" + frame + b"\x7e")
    back = decoded.to_grid_reading(received, "Europe/Amsterdam" if vendor == "p1" else "Europe/Oslo")
    for key in ("p_import_w", "i_l1_a", "i_l2_a", "u_l3_v", "e_import_kwh", "meter_id", "meter_clock"):
        assert getattr(back, key) == getattr(reading, key), key
    assert back.raw == frame.rstrip(b"\r\n") or back.raw == frame


@pytest.mark.parametrize(
    "t", [datetime(2021, 10, 31, 0, 0, tzinfo=UTC), datetime(2021, 10, 31, 1, 0, tzinfo=UTC)]
)
def test_the_repeated_hour_reads_back_as_the_one_nearest_reception(t: datetime) -> None:
    """02:00 in Oslo happens twice on 31 October 2021; the wall clock alone cannot tell which."""
    frame = encode_aidon_list(
        3, p_import_w=0, q_export_var=0, i_a=(0, 0, 0), u_v=(230, 230, 230), e_import_kwh=0, meter_clock=t
    )
    assert parse_frame(frame).to_grid_reading(t + timedelta(seconds=2)).meter_clock == t
