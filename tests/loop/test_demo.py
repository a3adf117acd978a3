"""`hems demo` closes the loop within its first simulated day — a plan and why, appliances running it,
prices with spot, the capacity hour and the month's step, the staged overload and the box's answer
— and it is a simulated household's: marked so, and it uploads nothing unless told to."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hems.storage import Storage
from hems.telemetry.batch import decode

OSLO = ZoneInfo("Europe/Oslo")
DAY = datetime(2026, 1, 15, tzinfo=OSLO)

HOUSEHOLD = """
[site]
id = "demo-home"
postcode = "1081"
[tariff]
grid_company = "Elvia"
bidding_zone = "NO1"
[telemetry]
consent = true
endpoint = "https://127.0.0.1:9/hems/v1"
token = "not-a-real-token"
timeout_s = 1
[contact]
name = "Kari Nordmann"
"""


def demo(tmp: Path, name: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    config = tmp / "household.toml"
    config.write_text(HOUSEHOLD)
    db, state = tmp / f"{name}.db", tmp / f"{name}.json"
    args = ["--headless", "--quiet", "--speed", "0", "--stop-after", "28h", "--start", "2026-01-15"]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "hems",
            "demo",
            *args,
            "--db",
            str(db),
            "--state",
            str(state),
            "--config",
            str(config),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return run, db, state


def telemetry_send(db: Path, config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "hems", "telemetry", "send", "--db", str(db), "--config", str(config)]
    return subprocess.run([*cmd, *extra], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def first_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("demo")
    run, db, state = demo(tmp, "plain")
    assert run.returncode == 0, run.stderr
    return tmp, db, state


def test_the_first_day_shows_the_loop(first_day: tuple[Path, Path, Path]) -> None:
    _, db, state = first_day
    day_end = DAY + timedelta(days=1)
    with Storage.open(db, readonly=True) as st:
        assert st.simulated == "hems demo"
        plans = [st.get_doc(f"plan.{DAY.date().isoformat()}")]
        assert plans[0] is not None and plans[0]["status"] in ("optimal", "time_limit")
        why = plans[0]["plan"]["explanation"]["text"]
        assert any("cheapest" in line or "costs" in line for line in why), why  # the plan says why
        # the appliances ran the plans: their power is what the circuits measured (within the run's
        # 28 h: a dishwasher asked for at 22:29 may be planned into the cheap night after the day)
        run_end = DAY + timedelta(hours=28)
        for aid, circuit in (
            ("ev", "ev-charger"),
            ("dishwasher", "dishwasher"),
            ("water-heater", "water-heater"),
        ):
            ran = st.series(f"appliance.{aid}.p_w", DAY, run_end, "15m")
            assert max(p.mean for p in ran) > 500, aid
            measured = st.series(f"circuit.{circuit}.p_w", DAY, run_end, "1h")
            assert max(p.mean for p in measured) > 500, circuit
        # prices with the spot part: more than taxes and grid (they vary through the day)
        price = [p.mean for p in st.series("price.import_per_kwh", DAY, day_end, "1h")]
        assert len(price) == 24 and max(price) - min(price) > 0.1
        events = st.events(DAY, day_end)
        overload = [e for e in events if e.kind == "alert.breaker" and e.level != "cleared"]
        assert overload and "main fuse L3" in overload[0].message  # the staged evening
        answer = [e for e in events if e.kind == "control.shed" and e.time >= overload[0].time]
        assert answer and answer[0].message.startswith("load shedding: limit ev")
        assert (answer[0].time - overload[0].time).total_seconds() <= 30
    live = json.loads(state.read_text())
    cap = live["capacity"]
    assert cap["step_upper_kw"] and cap["month_mean_kw"] > 0 and cap["hour_kwh_so_far"] >= 0
    assert live["price"]["import_per_kwh"] > 0
    assert set(live["appliances"]) >= {"ev", "dishwasher", "washer", "water-heater"}


def test_no_demo_run_queues_telemetry(first_day: tuple[Path, Path, Path]) -> None:
    tmp, db, _ = first_day
    with Storage.open(db, readonly=True) as st:
        tables = {r[0] for r in st.connection.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
        queued = (
            st.connection.execute("SELECT COUNT(*) FROM telemetry_outbox").fetchone()[0]
            if ("telemetry_outbox" in tables)
            else 0
        )
    assert queued == 0  # consent in the config, but a demo uploads nothing unless told to
    # and no tool sends the demo's data by accident
    send = telemetry_send(db, tmp / "household.toml")
    assert send.returncode == 2
    assert "simulated data (hems demo)" in send.stderr and "--simulated" in send.stderr


def test_upload_is_opt_in_and_every_batch_says_simulated(tmp_path: Path) -> None:
    run, db, _ = demo(tmp_path, "upload", "--upload")
    assert run.returncode == 0, run.stderr
    with Storage.open(db, readonly=True) as st:
        rows = st.connection.execute("SELECT day, body FROM telemetry_outbox WHERE kind = 'batch'").fetchall()
    # the one complete day with data is queued (the endpoint is unreachable: waiting); the day
    # before the demo started has no data, so nothing is queued for it
    assert [r[0] for r in rows] == ["2026-01-15"]
    for _, body in rows:
        batch: dict[str, Any] = decode(body)
        assert batch["simulated"] is True
        assert "Kari" not in json.dumps(batch)
    # sending it again by hand is allowed only on purpose, and still marked
    sent = telemetry_send(db, tmp_path / "household.toml", "--simulated")
    assert sent.returncode == 1, sent.stderr  # allowed; the test's endpoint does not answer
    assert "error" in sent.stdout


async def test_the_dashboard_shows_it(first_day: tuple[Path, Path, Path]) -> None:
    from textual.widgets import DataTable, Static

    from hems.clock import ManualClock
    from tui.app import HemsApp
    from tui.source import LocalSource

    _, db, state = first_day
    now = datetime.fromisoformat(json.loads(state.read_text())["time"])
    app = HemsApp(LocalSource(state, db), ManualClock(now), poll_seconds=3600, stored_seconds=3600)

    def text() -> str:
        return "\n".join(str(w.content) for w in app.screen.query(Static))

    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        now_screen = text()
        assert "Month" in now_screen and "→ step" in now_screen  # the month's capacity step
        assert "Hour" in now_screen and "/kWh" in now_screen
        await pilot.press("p")
        await pilot.pause()
        plan = text()
        assert "No plan" not in plan and "kWh" in plan
        await pilot.press("a")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        table = app.screen.query_one(DataTable)
        rows = [" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]
        assert any("main fuse L3" in r for r in rows)  # the staged overload ...
        assert any("load shedding: limit ev" in r for r in rows)  # ... and the box's answer
