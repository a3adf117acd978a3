"""The planner's base load: the household's own consumption that no appliance of the box's made, at
the same time of day over the last 14 days, moved towards what the meter measured in the last hour."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hems.control.inputs import history_base_load
from hems.storage import SampleWriter, Storage, WriterSettings

TZ = ZoneInfo("Europe/Oslo")
DAY = date(2026, 7, 20)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).astimezone(UTC)


def home(tmp_path: Path, days: int, cold_night_before: bool) -> Storage:
    """``days`` days up to DAY 14:00 of a 500 W house whose EV charger (an appliance of the box's)
    draws 7 kW every evening 18-20; the night before DAY (22-06) 1 kW of heating on top when
    ``cold_night_before``."""
    st = Storage.open(tmp_path / "home.db", timezone="Europe/Oslo")
    writer = SampleWriter(st, WriterSettings(batch_cycles=1000, batch_seconds=1e9))
    t, end = local(DAY - timedelta(days=days), 0), local(DAY, 14)
    cold = (local(DAY - timedelta(days=1), 22), local(DAY, 6))
    while t < end:
        hour = t.astimezone(TZ).hour
        ev = 7000.0 if 18 <= hour < 20 else 0.0
        heat = 1000.0 if cold_night_before and cold[0] <= t < cold[1] else 0.0
        writer.add(t, {"grid.p_import_w": 500.0 + ev + heat, "appliance.ev.p_w": ev})
        t += timedelta(minutes=5)
    writer.close()
    return st


def test_one_cold_night_counts_for_a_seventh_and_the_appliances_are_left_out(tmp_path: Path) -> None:
    st = home(tmp_path, 7, cold_night_before=True)
    slots = [local(DAY, 14) + timedelta(minutes=15 * k) for k in range(4 * 12)]
    got = dict(zip(slots, history_base_load(st)(slots, 15), strict=True))
    assert got[local(DAY, 19)] == pytest.approx(0.5, abs=0.002)  # the EV is the box's to plan
    assert got[local(DAY, 23)] == pytest.approx(0.5 + 1.0 / 7, abs=0.002)  # not the whole 1.5 kW
    st.close()


def test_with_only_yesterday_known_the_forecast_is_yesterday(tmp_path: Path) -> None:
    st = home(tmp_path, 1, cold_night_before=True)
    slots = [local(DAY, 14) + timedelta(minutes=15 * k) for k in range(4 * 12)]
    got = dict(zip(slots, history_base_load(st)(slots, 15), strict=True))
    assert got[local(DAY, 23)] == pytest.approx(1.5, abs=0.002)
    st.close()


def test_the_last_hour_moves_the_next_hours(tmp_path: Path) -> None:
    st = home(tmp_path, 7, cold_night_before=False)
    writer = SampleWriter(st, WriterSettings(batch_cycles=1000, batch_seconds=1e9))
    t = local(DAY, 14)
    while t < local(DAY, 15):  # guests: 1.5 kW more than on any day before
        writer.add(t, {"grid.p_import_w": 2000.0, "appliance.ev.p_w": 0.0})
        t += timedelta(minutes=5)
    writer.close()
    slots = [local(DAY, 15) + timedelta(minutes=15 * k) for k in range(4 * 12)]
    got = history_base_load(st)(slots, 15)
    assert got[0] == pytest.approx(2.0, abs=0.002)
    assert 0.5 < got[8] < 2.0 and got[-1] == pytest.approx(0.5, abs=0.01)
    st.close()


def test_a_box_that_plans_again_later_sees_what_a_fresh_one_sees(tmp_path: Path) -> None:
    """The settled history is read once: re-plans read only what is new, with the same answer."""
    st = home(tmp_path, 7, cold_night_before=True)
    load = history_base_load(st)
    horizon = [local(DAY, 14) + timedelta(minutes=15 * k) for k in range(4 * 36)]
    load(horizon, 15)
    writer = SampleWriter(st, WriterSettings(batch_cycles=1000, batch_seconds=1e9))
    t = local(DAY, 14)
    while t < local(DAY, 17, 10):  # three hours more, the last slot still open
        writer.add(t, {"grid.p_import_w": 900.0 + 100.0 * (t.minute // 15), "appliance.ev.p_w": 0.0})
        t += timedelta(minutes=5)
    writer.close()
    for start in (local(DAY, 15), local(DAY, 17, 15)):
        later = [start + timedelta(minutes=15 * k) for k in range(4 * 36)]
        assert load(later, 15) == history_base_load(st)(later, 15)
    st.close()
