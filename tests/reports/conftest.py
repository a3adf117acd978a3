"""A deterministic simulated household written through the real Storage API."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hems.storage import SampleWriter, Storage, WriterSettings

TZ = ZoneInfo("Europe/Oslo")


def household_values(t: datetime, battery: bool = False) -> dict[str, float]:
    """Channel values [W] of the test household at instant ``t``: a function of local time only."""
    local = t.astimezone(TZ)
    h = local.hour
    heater = 1500.0 if h < 6 else 0.0
    kitchen = 500.0 if h in (7, 8, 17, 18) else 0.0
    ev = 7000.0 if h in (1, 2) and local.day % 2 == 0 else 0.0
    base = 300.0
    pv = 2000.0 if 10 <= h < 14 else 0.0
    bat = 0.0
    if battery:
        bat = 1000.0 if 11 <= h < 13 else (-800.0 if 18 <= h < 20 else 0.0)  # charge positive
    net = heater + kitchen + ev + base + bat - pv
    values = {
        "grid.p_import_w": max(net, 0.0),
        "grid.p_export_w": max(-net, 0.0),
        "pv.p_w": pv,
        "circuit.heater.p_w": heater,
        "circuit.kitchen.p_w": kitchen,
        "circuit.ev.p_w": ev,
        "appliance.ev.p_w": ev,
        "grid.i_l1_a": max(net, 0.0) / 230.0,
    }
    if battery:
        values["battery.p_w"] = bat
    return values


def fill(
    path: Path,
    first: date,
    days: int,
    step_s: int = 300,
    values: Callable[[datetime], dict[str, float]] = household_values,
) -> list[tuple[datetime, dict[str, float]]]:
    """Write ``days`` local days of samples every ``step_s`` seconds; returns what was written."""
    start = datetime(first.year, first.month, first.day, tzinfo=TZ).astimezone(UTC)
    end_local = first + timedelta(days=days)
    end = datetime(end_local.year, end_local.month, end_local.day, tzinfo=TZ).astimezone(UTC)
    written = []
    with Storage.open(path, timezone="Europe/Oslo") as st:
        writer = SampleWriter(st, WriterSettings(batch_cycles=2000, batch_seconds=1e9))
        t = start
        while t < end:
            v = values(t)
            writer.add(t, v)
            written.append((t, v))
            t += timedelta(seconds=step_s)
        writer.close()
    return written


@pytest.fixture(scope="session")
def _month_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[datetime, dict]]]:
    path = tmp_path_factory.mktemp("month") / "hems.db"
    return path, fill(path, date(2026, 2, 28), 33, step_s=300)


@pytest.fixture
def month_db(
    _month_template: tuple[Path, list[tuple[datetime, dict[str, float]]]], tmp_path: Path
) -> tuple[Path, list[tuple[datetime, dict[str, float]]]]:
    """March 2026 (with the DST change on the 29th) plus a day either side; a fresh copy per test."""
    template, written = _month_template
    path = tmp_path / "hems.db"
    shutil.copyfile(template, path)
    return path, written


@pytest.fixture
def filler() -> Callable[..., list[tuple[datetime, dict[str, float]]]]:
    """`fill`, for tests that need their own database."""
    return fill


@pytest.fixture
def battery_values() -> Callable[[datetime], dict[str, float]]:
    """The test household with a battery (``battery.p_w``, charge positive)."""
    return partial(household_values, battery=True)
