"""A raw PV forecast (an outside or simulated service's) is corrected against the PV meter, per
local hour, as the forecast job corrects its own; the forecast job's documents are left alone."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hems.control.inputs import stored_pv_forecast
from hems.storage import SampleWriter, Storage, WriterSettings
from tariffs.series import day_slots

TZ = "Europe/Oslo"
DAY = date(2026, 7, 20)


def sun(t: datetime) -> float:
    """A clear-sky-like curve [W]: 0 at night, 6 kW at local noon."""
    hour = t.astimezone(ZoneInfo(TZ)).hour + t.astimezone(ZoneInfo(TZ)).minute / 60
    return max(0.0, 6000.0 * math.sin(math.pi * (hour - 5) / 15)) if 5 <= hour <= 20 else 0.0


def raw_doc(day: date, scale: float) -> dict[str, object]:
    slots = day_slots(day, TZ, 15)
    return {
        "date": day.isoformat(),
        "timezone": TZ,
        "slot_minutes": 15,
        "source": "simulated",
        "slots": [{"start": t.isoformat(), "pv_w": round(sun(t) * scale, 1)} for t in slots],
    }


def home(tmp_path: Path, days: int, forecast_scale: float) -> Storage:
    """``days`` days before DAY of measured PV (the sun curve), each with a raw forecast that was
    ``forecast_scale`` of it; DAY's own raw forecast as the service issued it."""
    st = Storage.open(tmp_path / "home.db", timezone=TZ)
    writer = SampleWriter(st, WriterSettings(batch_cycles=1000, batch_seconds=1e9))
    start = datetime.combine(DAY - timedelta(days=days), datetime.min.time(), ZoneInfo(TZ)).astimezone(UTC)
    t = start
    while t < datetime.combine(DAY, datetime.min.time(), ZoneInfo(TZ)).astimezone(UTC):
        writer.add(t, {"pv.p_w": sun(t), "grid.p_import_w": 500.0})
        t += timedelta(minutes=1)
    writer.close()
    for back in range(1, days + 1):
        st.put_doc(
            f"forecast.pv.{(DAY - timedelta(days=back)).isoformat()}",
            raw_doc(DAY - timedelta(days=back), forecast_scale),
        )
    st.put_doc(f"forecast.pv.{DAY.isoformat()}", raw_doc(DAY, forecast_scale))
    return st


def noon_kw(st: Storage) -> float:
    noon = datetime(DAY.year, DAY.month, DAY.day, 12, 30, tzinfo=ZoneInfo(TZ)).astimezone(UTC)
    return stored_pv_forecast(st, TZ)([noon], 15)[0]


def test_a_raw_forecast_that_runs_low_is_corrected_by_what_the_meter_measured(tmp_path: Path) -> None:
    st = home(tmp_path, 7, forecast_scale=0.8)
    noon = datetime(DAY.year, DAY.month, DAY.day, 12, 30, tzinfo=ZoneInfo(TZ)).astimezone(UTC)
    assert noon_kw(st) == pytest.approx(sun(noon) / 1000.0, rel=0.02)  # 0.8 x 1.25
    st.close()


def test_too_little_history_leaves_the_forecast_as_issued(tmp_path: Path) -> None:
    st = home(tmp_path, 2, forecast_scale=0.8)
    noon = datetime(DAY.year, DAY.month, DAY.day, 12, 30, tzinfo=ZoneInfo(TZ)).astimezone(UTC)
    assert noon_kw(st) == pytest.approx(0.8 * sun(noon) / 1000.0, rel=0.01)
    st.close()


def test_the_forecast_jobs_own_documents_are_not_corrected_twice(tmp_path: Path) -> None:
    st = home(tmp_path, 7, forecast_scale=0.8)
    doc = raw_doc(DAY, 0.8)
    doc["sources"] = {"bias": {"weather_slots": "measured PV / archived raw weather forecasts"}}
    st.put_doc(f"forecast.pv.{DAY.isoformat()}", doc)
    noon = datetime(DAY.year, DAY.month, DAY.day, 12, 30, tzinfo=ZoneInfo(TZ)).astimezone(UTC)
    assert noon_kw(st) == pytest.approx(0.8 * sun(noon) / 1000.0, rel=0.01)
    st.close()


def measured_until(st: Storage, end: datetime, scale: float) -> None:
    """DAY's PV meter from local midnight to ``end`` at ``scale`` of the sun curve."""
    writer = SampleWriter(st, WriterSettings(batch_cycles=1000, batch_seconds=1e9))
    t = datetime.combine(DAY, datetime.min.time(), ZoneInfo(TZ)).astimezone(UTC)
    while t < end:
        writer.add(t, {"pv.p_w": sun(t) * scale, "grid.p_import_w": 500.0})
        t += timedelta(minutes=1)
    writer.close()


def own_doc(day: date) -> dict[str, object]:
    doc = raw_doc(day, 1.0)
    doc["sources"] = {"bias": {"weather_slots": "measured PV / archived raw weather forecasts"}}
    return doc


def test_a_grey_morning_forecast_sunny_lowers_the_rest_of_today_but_not_tomorrow(tmp_path: Path) -> None:
    st = home(tmp_path, 0, forecast_scale=1.0)
    st.put_doc(f"forecast.pv.{DAY.isoformat()}", own_doc(DAY))
    tomorrow = DAY + timedelta(days=1)
    st.put_doc(f"forecast.pv.{tomorrow.isoformat()}", own_doc(tomorrow))
    ten = datetime(DAY.year, DAY.month, DAY.day, 10, 0, tzinfo=ZoneInfo(TZ)).astimezone(UTC)
    measured_until(st, ten, 0.5)  # the sky gives half of what was forecast
    slots = [ten + timedelta(minutes=15 * k) for k in range(4 * 30)]
    got = stored_pv_forecast(st, TZ)(slots, 15)
    assert got[0] == pytest.approx(0.5 * sun(ten) / 1000.0, rel=0.05)  # now: what the sky gives
    four = 4 * 6  # 16:00: the correction fades with the lead time, never past the forecast
    assert 0.5 * sun(slots[four]) / 1000 < got[four] < sun(slots[four]) / 1000
    noon_tomorrow = slots.index(datetime(tomorrow.year, 7, 21, 12, 0, tzinfo=ZoneInfo(TZ)).astimezone(UTC))
    assert got[noon_tomorrow] == pytest.approx(sun(slots[noon_tomorrow]) / 1000.0, rel=0.01)
    st.close()


def test_at_dawn_there_is_too_little_sun_to_learn_from(tmp_path: Path) -> None:
    st = home(tmp_path, 0, forecast_scale=1.0)
    st.put_doc(f"forecast.pv.{DAY.isoformat()}", own_doc(DAY))
    dawn = datetime(DAY.year, DAY.month, DAY.day, 5, 30, tzinfo=ZoneInfo(TZ)).astimezone(UTC)
    measured_until(st, dawn, 0.2)
    noon = datetime(DAY.year, DAY.month, DAY.day, 12, 0, tzinfo=ZoneInfo(TZ)).astimezone(UTC)
    got = stored_pv_forecast(st, TZ)([dawn, noon], 15)
    assert got[1] == pytest.approx(sun(noon) / 1000.0, rel=0.01)
    st.close()
