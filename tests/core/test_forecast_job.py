"""The daemon's hourly forecast job: a real worker process, a real database, archived answers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hems.clock import ManualClock
from hems.config import parse_config
from hems.forecast import forecast_job
from hems.storage import Storage


async def test_the_forecast_job_archives_today_and_tomorrow(tmp_path: Path) -> None:
    cfg = parse_config({"site": {"latitude": 59.9, "longitude": 10.7}, "pv": {"array": [{"kwp": 5.0}]}})
    clock = ManualClock(datetime(2026, 6, 20, 10, tzinfo=UTC))
    with Storage.open(tmp_path / "h.db") as st:
        job = forecast_job(cfg, st, clock)
        assert await job(clock.now()) is True
        today, tomorrow = st.get_doc("forecast.pv.2026-06-20"), st.get_doc("forecast.pv.2026-06-21")
        latest = st.get_doc("pv_forecast")
    assert today["n_slots"] == tomorrow["n_slots"] == 96
    assert latest == tomorrow
    assert 15 < tomorrow["pv_kwh"] < 40  # a June day for 5 kWp near Oslo, clear sky derated
    assert "clear" in tomorrow["sources"]["weather"]  # no weather source configured: it says so
