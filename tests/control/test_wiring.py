"""How the daemon builds control: importable without cycles, jobs attached, state for the dashboard."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from hems.clock import ManualClock
from hems.config import parse_config
from hems.control import build_control
from hems.snapshot import Snapshot
from hems.storage import Storage


def test_config_imports_first_without_a_cycle() -> None:
    # hems.config imports hems.control.config; hems.control must not import hems.config back eagerly
    for module in ("hems.config", "hems.control", "hems.mqtt.payloads", "hems.alerts.engine"):
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)


async def test_build_control_with_storage_attaches_jobs_and_reports_state(tmp_path: Path) -> None:
    config = parse_config({"site": {"id": "w"}, "telemetry": {"consent": False}})
    st = Storage.open(tmp_path / "hems.db", timezone="Europe/Oslo")
    clock = ManualClock(datetime(2026, 1, 15, 5, 59, tzinfo=UTC))
    control = build_control(config, st, clock)
    assert control.jobs is not None and set(control.jobs.jobs) == {"prices", "report", "telemetry"}
    assert control.bridge is None  # no [mqtt]
    await control.on_cycle(Snapshot(time=clock.now()))  # starts itself
    state = control.state()["control"]
    assert state["alerts_active"] == [] and state["mqtt_connected"] is None
    assert state["price_now_per_kwh"] > 0  # the tariff's price without spot (none cached)
    await control.stop()
    st.close()
