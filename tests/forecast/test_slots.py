"""Quarter-hour slots of a local day, DST included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from optimiser.forecast.slots import day_slots, iso_z, local_quarter, parse_iso


@pytest.mark.parametrize(
    ("day", "n", "first_utc"),
    [
        (date(2026, 3, 29), 92, datetime(2026, 3, 28, 23, tzinfo=UTC)),  # spring forward
        (date(2026, 6, 21), 96, datetime(2026, 6, 20, 22, tzinfo=UTC)),
        (date(2026, 10, 25), 100, datetime(2026, 10, 24, 22, tzinfo=UTC)),  # fall back
        (date(2026, 12, 24), 96, datetime(2026, 12, 23, 23, tzinfo=UTC)),
    ],
)
def test_day_slots(day: date, n: int, first_utc: datetime) -> None:
    slots = day_slots(day, "Europe/Oslo")
    assert len(slots) == n and slots[0] == first_utc
    assert slots[-1] + timedelta(minutes=15) == day_slots(day + timedelta(days=1), "Europe/Oslo")[0]


def test_local_quarter_repeats_in_the_fall_back_hour() -> None:
    slots = day_slots(date(2026, 10, 25), "Europe/Oslo")
    quarters = [local_quarter(t, "Europe/Oslo") for t in slots]
    assert quarters[8:16] == [8, 9, 10, 11, 8, 9, 10, 11]  # 02:00–03:00 happens twice
    assert quarters[-1] == 95


def test_iso_round_trip_and_naive_rejected() -> None:
    t = datetime(2026, 6, 21, 10, 15, tzinfo=UTC)
    assert iso_z(t) == "2026-06-21T10:15:00Z" and parse_iso(iso_z(t)) == t
    assert parse_iso("2026-06-21T12:15:00+02:00") == t
    with pytest.raises(ValueError, match="without a UTC offset"):
        parse_iso("2026-06-21T10:15:00")
