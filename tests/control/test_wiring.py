"""How the daemon builds control: importable without cycles, jobs attached, state for the dashboard."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices.natures import GridReading
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
    assert control.jobs is not None
    assert set(control.jobs.jobs) == {"prices", "report", "telemetry", "research_jobs"}
    assert control.bridge is None  # no [mqtt]
    await control.on_cycle(Snapshot(time=clock.now()))  # starts itself
    state = control.state()
    assert state["alerts"] == [] and state["control"]["mqtt_connected"] is None
    assert state["price"]["import_per_kwh"] > 0  # the tariff's price without spot (none cached)
    await control.stop()
    st.close()


async def test_capacity_peaks_survive_a_restart(tmp_path: Path) -> None:
    """The month's hourly peaks are read back from the database when control starts."""
    from datetime import timedelta

    from hems.storage import SampleWriter

    st = Storage.open(tmp_path / "hems.db", timezone="Europe/Oslo")
    writer = SampleWriter(st)
    t = datetime(2026, 1, 12, 23, 0, tzinfo=UTC)  # 13 January, Oslo
    while t < datetime(2026, 1, 14, 23, 0, tzinfo=UTC):
        # 6 kW from 16:00 to 17:00 UTC (17–18 in Oslo) each day, 1 kW otherwise
        p = 6000.0 if t.hour == 16 else 1000.0
        writer.add(t, {"grid.p_import_w": p}, [])
        t += timedelta(minutes=1)
    writer.close()
    config = parse_config(
        {
            "site": {"id": "w"},
            "alerts": {"capacity_step_upper_kw": [2, 5, 10], "capacity_step_price": [1, 2, 3, 4]},
        }
    )
    clock = ManualClock(datetime(2026, 1, 15, 9, 0, tzinfo=UTC))
    control = build_control(config, st, clock, jobs=False)
    await control.start()
    tracker = control.engine.capacity
    assert tracker is not None
    assert {d.isoformat(): round(v, 3) for d, v in tracker.daily_peaks.items()} == {
        "2026-01-13": 6.0,
        "2026-01-14": 6.0,
    }
    for _ in range(31):  # five minutes at 3 kW
        clock.advance(10)
        t = clock.now()
        await control.on_cycle(Snapshot(time=t, grid=GridReading(time=t, p_import_w=3000.0)))
    cap = control.state()["capacity"]  # what the dashboard shows for the running hour
    assert cap["hour_kwh_so_far"] == pytest.approx(0.25, abs=0.01)
    assert cap["projected_kw"] == pytest.approx(3.0, abs=0.01)
    assert (cap["step_upper_kw"], cap["step_price"]) == (5, 2)  # month mean (6 + 6 + 3) / 3 = 5 kW
    await control.stop()
    st.close()


async def test_the_daemons_stored_reports_carry_the_tariffs_cost(tmp_path: Path) -> None:
    # The report job of `hems run` stores each morning's reports for the dashboard: with the
    # household's [tariff], so the History screen shows the bill and what it leaves out.
    from datetime import timedelta

    from hems.storage import SampleWriter

    config = parse_config({"telemetry": {"consent": False}, "tariff": {"grid_company": "Elvia"}})
    st = Storage.open(tmp_path / "hems.db", timezone="Europe/Oslo")
    writer = SampleWriter(st)
    start = datetime(2026, 1, 13, 23, 0, tzinfo=UTC)  # 14 January, Oslo
    for i in range(24 * 12):  # every 5 minutes
        writer.add(start + timedelta(minutes=5 * i), {"grid.p_import_w": 2000.0})
    writer.close()
    control = build_control(config, st, ManualClock(datetime(2026, 1, 15, 5, 0, tzinfo=UTC)))
    assert control.jobs is not None
    await control.jobs.jobs["report"].func(datetime(2026, 1, 15, 5, 0, tzinfo=UTC))
    cost = st.get_doc("report.day.2026-01-14")["cost"]
    assert cost["currency"] == "NOK" and cost["total"] > 0
    assert cost["left_out"] == ["spot price (none known for 2026-01-14)"]
    st.close()
