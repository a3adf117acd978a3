"""`hems demo` end to end: headless runs, resume, a kill -9 mid-write, and the twin's arithmetic."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from devices.simulated import SimCircuitMeter, SimGridMeter, SimPvInverter, Twin
from hems.clock import ManualClock
from hems.storage import Storage

OSLO = ZoneInfo("Europe/Oslo")


def demo(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hems", "demo", "--headless", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_headless_demo_stores_and_resumes(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    first = demo(
        "--speed", "0", "--stop-after", "2h", "--db", str(db), "--seed", "7", "--start", "2026-01-15"
    )
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert len(lines) == 720
    assert lines[0].startswith("2026-01-15 00:00:00  grid")
    with Storage.open(db, readonly=True) as st:
        assert st.first_time() == datetime(2026, 1, 15, tzinfo=OSLO)
        assert st.last_time() == datetime(2026, 1, 15, 1, 59, 50, tzinfo=OSLO)
        assert "circuit.ev-charger.p_w" in st.channels()
        assert st.get_doc("meter")["meter_id"].startswith("735999")
    second = demo("--speed", "0", "--stop-after", "10m", "--db", str(db), "--seed", "7", "--quiet")
    assert second.returncode == 0, second.stderr
    assert "resuming" in second.stderr and second.stdout == ""
    with Storage.open(db, readonly=True) as st:
        assert st.last_time() == datetime(2026, 1, 15, 2, 9, 50, tzinfo=OSLO)
        raw = st.series("grid.p_import_w", st.first_time(), st.last_time() + timedelta(seconds=1))
        assert len(raw) == 780  # no gap, no duplicate


def test_at_speed_600_samples_are_on_disk_within_seconds(tmp_path: Path) -> None:
    db = tmp_path / "fast.db"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hems",
            "demo",
            "--headless",
            "--quiet",
            "--speed",
            "600",
            "--stop-after",
            "26h",
            "--db",
            str(db),
            "--start",
            "2026-06-20",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        rows = 0
        while time.monotonic() < deadline and not rows:
            time.sleep(0.2)
            if db.exists():
                try:
                    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                        rows = conn.execute("SELECT COUNT(*) FROM sample").fetchone()[0]
                except sqlite3.OperationalError:
                    pass
        assert rows > 0
        proc.send_signal(signal.SIGTERM)  # a clean stop flushes and exits 0
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert b"cycles stored in" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def newest(db: Path) -> float:
    """The newest stored cycle [unix s], read the way another process would."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT MAX(t_last) FROM sample").fetchone()[0] or 0
    except sqlite3.OperationalError:
        return 0


def test_kill_9_during_writes_leaves_an_intact_database(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    r = random.Random(3)
    last = None
    for attempt in range(3):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hems",
                "demo",
                "--headless",
                "--quiet",
                "--speed",
                "0",
                "--stop-after",
                "30d",
                "--db",
                str(db),
                "--start",
                "2026-03-28",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and newest(db) <= (last.timestamp() if last else 0):
            time.sleep(0.05)
        time.sleep(r.uniform(0.05, 1.0))  # somewhere in the middle of the writing
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", f"attempt {attempt}"
        conn.close()
        with Storage.open(db) as st:  # reopens writable, recovers the WAL
            now_last = st.last_time()
        assert now_last is not None and (last is None or now_last > last)
        last = now_last
    done = demo("--speed", "0", "--stop-after", "10m", "--db", str(db), "--quiet")
    assert done.returncode == 0, done.stderr
    with Storage.open(db, readonly=True) as st:
        assert st.last_time() == last + timedelta(minutes=10)


def test_bad_arguments_are_one_clear_line(tmp_path: Path) -> None:
    bad = demo("--stop-after", "soon", "--db", str(tmp_path / "x.db"))
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "hems: error: --stop-after: expected a duration such as 2h, 26h, 10m or 1d12h, got 'soon'"
    )
    bad = demo("--start", "15.01.2026", "--db", str(tmp_path / "y.db"))
    assert bad.returncode == 2 and "--start: expected a date as YYYY-MM-DD" in bad.stderr
    # #14: a device the simulator does not have was accepted and nothing ever failed
    bad = demo("--fail", "nonsense", "--headless", "--db", str(tmp_path / "z.db"))
    assert bad.returncode == 2 and not (tmp_path / "z.db").exists()
    assert bad.stderr.strip().startswith(
        "hems: error: --fail: the simulated household has no device 'nonsense'; one of grid, pv, "
    )
    assert "water-heater" in bad.stderr and bad.stderr.count("\n") == 1


@pytest.mark.parametrize("network", ["TN", "IT", "1P"])
def test_the_twin_adds_up_like_a_real_house(network: str) -> None:
    async def run() -> None:
        clock = ManualClock(datetime(2026, 6, 20, 11, tzinfo=UTC))
        twin = Twin(clock, seed=5, network=network, pv_kwp=0.0)
        grid = SimGridMeter(twin)
        circuits = [SimCircuitMeter(twin, c) for c in twin.circuits]
        pv = SimPvInverter(twin)
        for _ in range(30):
            g = await grid.read()
            total = 0.0
            for c in circuits:
                total += (await c.read()).p_w or 0.0
            produced = (await pv.read()).p_w or 0.0
            assert g.p_net_w == pytest.approx(total - produced, abs=1.0)
            if network == "TN":  # line currents are the circuits' currents per line
                for ln in ("L1", "L2", "L3"):
                    amps = 0.0
                    for c, meter in zip(twin.circuits, circuits, strict=True):
                        r = await meter.read()
                        if c.line == ln:
                            amps += r.i_a or 0.0
                        elif c.line == "3P":
                            amps += getattr(r, f"i_{ln.lower()}_a") or 0.0
                    assert g.current(ln) == pytest.approx(amps, abs=0.3)
            clock.advance(10)
        twin.close()

    asyncio.run(run())


def test_the_twin_is_deterministic_for_a_seed() -> None:
    async def day(seed: int) -> list[float]:
        clock = ManualClock(datetime(2026, 1, 15, tzinfo=OSLO))
        twin = Twin(clock, seed=seed, pv_kwp=0.0)
        grid = SimGridMeter(twin)
        out = []
        for _ in range(2000):
            out.append((await grid.read()).p_import_w or 0.0)
            clock.advance(30)
        twin.close()
        return out

    a, b, c = asyncio.run(day(1)), asyncio.run(day(1)), asyncio.run(day(2))
    assert a == b and a != c
    kwh = sum(a) * 30 / 3600 / 1000
    assert 40 < kwh < 110  # a cold January day of an electrically heated house (16.7 h here)


def test_a_second_demo_on_a_database_being_written_is_refused(tmp_path: Path) -> None:
    # #14: the second demo used to resume the first one's database silently, both writing it.
    db = tmp_path / "busy.db"
    first = subprocess.Popen(
        [sys.executable, "-m", "hems", "demo", "--headless", "--quiet", "--speed", "60",
         "--stop-after", "2h", "--db", str(db), "--start", "2026-01-15"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not db.exists():
            time.sleep(0.2)
        time.sleep(1.0)
        assert first.poll() is None, "the first demo stopped early"
        second = demo("--stop-after", "10m", "--db", str(db), "--quiet")
        assert second.returncode == 2
        assert second.stderr.strip() == (
            f"hems: error: --db: {db} is being written by another hems demo (pid {first.pid}); "
            "stop it first or give another --db"
        )
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(30)
    again = demo("--stop-after", "10m", "--db", str(db), "--quiet", "--speed", "0")
    assert again.returncode == 0, again.stderr  # once it has stopped, resuming is fine
    assert "resuming" in again.stderr
