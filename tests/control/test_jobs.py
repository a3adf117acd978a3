"""Jobs on a leaping clock: retried until done, caught up once after a restart, skipped past grace."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hems.clock import ManualClock
from hems.jobs import Job, JobRunner, daily, standard_jobs


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def run_for(runner: JobRunner, clock: ManualClock, hours: float, step_s: float = 60.0) -> None:
    for _ in range(int(hours * 3600 / step_s)):
        clock.advance(step_s)
        await runner.on_cycle()
        await settle()


async def test_prices_job_retries_until_the_prices_arrive(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 1, 15, 10, 0, tzinfo=UTC))  # 11:00 CET
    calls: list[tuple[datetime, datetime]] = []

    async def fetch(fire: datetime) -> bool:
        calls.append((fire, clock.now()))
        return len(calls) >= 3  # published on the third try

    replans: list[str] = []
    runner = JobRunner(clock, sqlite3.connect(tmp_path / "jobs.db"))
    for job in standard_jobs("Europe/Oslo", fetch_prices=fetch, replan=replans.append):
        runner.add(job)
    await run_for(runner, clock, 30)
    fire = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # 13:00 CET
    assert [c[0] for c in calls[:3]] == [fire] * 3
    assert [c[1] - fire for c in calls[:3]] == [timedelta(minutes=m) for m in (0, 10, 20)]
    assert [c[0] for c in calls[3:]] == [fire + timedelta(days=1)]  # next day, first try succeeds
    assert replans == ["new day-ahead prices"] * 2  # only when they arrived


async def test_missed_runs_are_caught_up_once_after_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    clock = ManualClock(datetime(2026, 3, 1, 22, 0, tzinfo=UTC))
    fires: list[datetime] = []

    async def rollup(fire: datetime) -> bool:
        fires.append(fire)
        return True

    def runner() -> JobRunner:
        r = JobRunner(clock, sqlite3.connect(db))
        r.add(Job("rollups", daily(0, 15, "Europe/Oslo"), rollup, misfire_grace_s=7 * 86400))
        return r

    first = runner()
    await run_for(first, clock, 4)
    # a fresh box catches up last night's run (within the grace time), then runs on 2 March 00:15
    assert fires == [datetime(2026, 2, 28, 23, 15, tzinfo=UTC), datetime(2026, 3, 1, 23, 15, tzinfo=UTC)]
    await first.stop()
    clock.advance(3 * 86400)  # the box was off for three nights
    second = runner()
    await run_for(second, clock, 0.1)
    assert fires[2:] == [datetime(2026, 3, 4, 23, 15, tzinfo=UTC)]  # once, the latest only
    third = runner()  # another restart: nothing is repeated
    await run_for(third, clock, 0.1)
    assert len(fires) == 3


async def test_a_run_missed_beyond_the_grace_time_is_skipped(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 3, 1, 22, 0, tzinfo=UTC))
    fires: list[datetime] = []

    async def report(fire: datetime) -> None:
        fires.append(fire)

    db = sqlite3.connect(tmp_path / "jobs.db")
    r = JobRunner(clock, db)
    r.add(Job("report", daily(6, 0, "Europe/Oslo"), report, misfire_grace_s=3600))
    await run_for(r, clock, 10)
    assert fires == [datetime(2026, 3, 2, 5, 0, tzinfo=UTC)]
    clock.set(datetime(2026, 3, 3, 7, 30, tzinfo=UTC))  # a long pause: 2.5 h past the fire time
    await run_for(r, clock, 0.1)
    assert len(fires) == 1
    assert db.execute("SELECT last_error FROM job_run").fetchone()[0] == "missed beyond the grace time"


async def test_a_failing_job_is_logged_and_retried(tmp_path: Path, caplog: object) -> None:
    clock = ManualClock(datetime(2026, 3, 1, 4, 50, tzinfo=UTC))
    calls: list[datetime] = []

    async def flaky(fire: datetime) -> bool:
        calls.append(clock.now())
        if len(calls) == 1:
            raise ConnectionError("server down")
        return True

    r = JobRunner(clock)
    r.add(Job("telemetry", daily(6, 0, "Europe/Oslo"), flaky, retry_s=3600))
    await run_for(r, clock, 3)
    assert len(calls) == 2 and calls[1] - calls[0] == timedelta(hours=1)
