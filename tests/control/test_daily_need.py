"""A relay-driven appliance's daily need: one window or several (``device.window``)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from devices.appliances.drivers.base import DailyNeed
from devices.appliances.drivers.config import DeviceOptions

OSLO = ZoneInfo("Europe/Oslo")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=OSLO).astimezone(UTC)


def test_two_windows_make_two_needs_a_day() -> None:
    o = DeviceOptions(topic="x", energy_kwh=6.0, window="08:15-17:00, 22:45-06:00")
    windows = o.window_minutes()
    assert windows == ((495, 1020), (1365, 360))
    daily = DailyNeed("wh", 6.0, windows, "Europe/Oslo", 2000.0)
    morning, night, after_midnight = daily.need(at(12, 9)), daily.need(at(12, 23)), daily.need(at(13, 5))
    assert morning is not None and (morning.at, morning.latest_end) == (at(12, 8, 15), at(12, 17))
    assert night is not None and (night.at, night.latest_end) == (at(12, 22, 45), at(13, 6))
    assert after_midnight == night  # the night's window belongs to the day it began
    assert len({morning.key, night.key}) == 2 and night.energy_wh == 6000.0
    assert daily.need(at(12, 7)) is None and daily.need(at(12, 20)) is None  # between the windows


def test_one_window_keeps_its_day_key() -> None:
    daily = DailyNeed(
        "wh", 6.0, DeviceOptions(window="22:00-07:00").window_minutes() or (), "Europe/Oslo", 2e3
    )
    need = daily.need(at(13, 3))
    assert need is not None and need.key == "wh:2026-01-12"


@pytest.mark.parametrize(
    ("window", "why"),
    [
        ("08:00-17:00, 16:00-18:00", "overlap"),
        ("22:00-06:00, 05:00-07:00", "overlap"),
        ("08:00-08:00", "same time"),
        ("25:00-06:00", "HH:MM"),
        ("08:00-17:00;22:00-06:00", "pattern"),
    ],
)
def test_bad_windows_are_refused(window: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        DeviceOptions(window=window)
