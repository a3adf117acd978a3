"""The real data source against a real state file and a real SQLite database written by the storage."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tui_testing import plan_doc, screen_text, settle, state_doc

from hems.clock import ManualClock
from hems.storage import SampleWriter, Storage
from tui.app import HemsApp
from tui.reports import circuits_today_kwh, load_history
from tui.source import LocalSource, SourceUnavailable, read_state_file

OSLO = ZoneInfo("Europe/Oslo")
MIDNIGHT = datetime(2026, 1, 15, 0, 0, tzinfo=OSLO).astimezone(UTC)


def write_state(path: Path, doc: dict) -> None:
    """As the daemon does: a temporary file renamed over the old one."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """Two hours (00:00–02:00 local) of 1-minute cycles: 1200 W import, 300 W on the kitchen circuit."""
    path = tmp_path / "hems.db"
    st = Storage.open(path, timezone="Europe/Oslo")
    writer = SampleWriter(st)
    for minute in range(120):
        t = MIDNIGHT + timedelta(minutes=minute)
        writer.add(t, {"grid.p_import_w": 1200.0, "grid.p_export_w": 0.0, "circuit.kitchen.p_w": 300.0})
    writer.close()
    st.put_doc("plan", plan_doc())
    st.log_event(MIDNIGHT + timedelta(minutes=30), "alert", "warning", "Kitchen at 95 % of 16 A")
    st.log_event(MIDNIGHT + timedelta(minutes=31), "action", "info", "Paused the water heater")
    st.close()
    return path


def test_state_file_missing_partial_or_not_an_object_reads_as_none(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    assert read_state_file(path) is None
    path.write_text('{"time": "2026-01-15T12:')
    assert read_state_file(path) is None
    path.write_text("[1, 2]")
    assert read_state_file(path) is None
    write_state(path, {"time": "2026-01-15T12:00:00+00:00"})
    assert read_state_file(path) == {"time": "2026-01-15T12:00:00+00:00"}


def test_history_plan_and_events_from_a_real_database(tmp_path: Path, database: Path) -> None:
    source = LocalSource(tmp_path / "state.json", database)
    now = MIDNIGHT + timedelta(hours=2)
    hist = load_history(source, "day", date(2026, 1, 15), OSLO, now, [("kitchen", "Kitchen")])
    assert hist.import_kwh == pytest.approx(2.4)
    assert hist.circuits == (("kitchen", "Kitchen", pytest.approx(0.6)),)
    assert [round(b.import_kwh, 3) for b in hist.buckets[:3]] == [1.2, 1.2, 0.0]
    assert hist.cost is None  # no stored price: unknown, not free
    assert circuits_today_kwh(source, ["kitchen"], now, OSLO) == {"kitchen": pytest.approx(0.6)}
    assert source.get_doc("plan")["status"] == "optimal"
    events = source.events(MIDNIGHT, now)
    assert [(e.kind, e.message) for e in events] == [
        ("alert", "Kitchen at 95 % of 16 A"),
        ("action", "Paused the water heater"),
    ]
    source.close()


def test_a_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match=r"nothere\.db: cannot open database"):
        LocalSource(tmp_path / "state.json", tmp_path / "nothere.db").get_doc("plan")
    with pytest.raises(SourceUnavailable, match="no database configured"):
        LocalSource(tmp_path / "state.json").events(MIDNIGHT, MIDNIGHT)


async def test_dashboard_on_real_files_loses_and_regains_the_daemon(tmp_path: Path, database: Path) -> None:
    state = tmp_path / "state.json"
    clock = ManualClock(MIDNIGHT + timedelta(hours=2))
    write_state(state, state_doc(clock.now()))
    app = HemsApp(LocalSource(state, database), clock, poll_seconds=3600, stored_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "Grid import 2.35 kW" in screen_text(app) and "live" in screen_text(app)
        state.unlink()  # the daemon stopped and its runtime directory was cleaned
        clock.advance(60)
        app.poll_live()
        await settle(pilot)
        assert "no data since 02:00:00" in screen_text(app)
        write_state(state, state_doc(clock.now()))
        app.poll_live()
        await settle(pilot)
        assert "no data" not in screen_text(app)
        await pilot.press("h")
        await settle(pilot)
        assert "Imported 2.40 kWh" in screen_text(app)
        await pilot.press("a")
        await settle(pilot)
        assert (
            "Paused the water heater" in screen_text(app) or app.screen.query_one("DataTable").row_count == 2
        )
