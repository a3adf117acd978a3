"""`hems demo` with its dashboard: the simulated household's daemon runs beside the dashboard (Textual's
pilot), the Now screen shows its live numbers, and closing the dashboard stops the daemon cleanly."""

from __future__ import annotations

import argparse
import asyncio
import re
from pathlib import Path

from textual.widgets import Static

from hems.commands.demo import _prepare, add_arguments, dashboard_app
from hems.config import HemsConfig
from hems.storage import Storage


def power_panel(app: object) -> str:
    panel = app.screen.query_one("#power", Static)  # type: ignore[attr-defined]
    return str(panel.content)


async def test_the_dashboard_shows_the_simulated_house_and_stops_its_daemon(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    db = tmp_path / "demo.db"
    args = parser.parse_args(["--db", str(db), "--start", "2026-01-15", "--speed", "120", "--seed", "4"])
    cfg = HemsConfig()
    prep = _prepare(args, cfg)
    app = dashboard_app(args, cfg, prep, tmp_path / "state.json")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            text = ""
            for _ in range(150):  # the PV worker starts, then cycles arrive 12 per second
                await pilot.pause(0.1)
                text = power_panel(app)
                if re.search(r"Grid import\s+\d+\.\d\d kW", text):
                    break
            assert re.search(r"Grid import\s+\d+\.\d\d kW", text), text
            assert (tmp_path / "state.json").exists()
        app.background_stop.set()
        assert app.background_thread is not None
        await asyncio.to_thread(app.background_thread.join, 30)
        assert not app.background_thread.is_alive()
        assert app.background_error is None
    finally:
        prep.storage.close()
    with Storage.open(db, readonly=True) as st:  # what the daemon stored was flushed on the way out
        assert st.integrity_ok()
        assert st.series("grid.p_import_w", prep.start, prep.start.replace(hour=23))
