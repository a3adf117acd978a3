"""Scheduled jobs run in the daemon's loop, on the injected clock, surviving restarts.

When a job is due is APScheduler 3.x's business (its cron and interval triggers, with time zones and
DST); running it is ours, so that the same jobs run on `SystemClock`, on the simulated clock of
``hems demo`` and on a leaping `ManualClock` in tests. Semantics follow APScheduler's
``coalesce=True`` + ``misfire_grace_time``: after a restart, runs that were missed are caught up
**once** (the latest missed fire time only), and not at all when it is older than the grace time.
The last fire time handled by each job is kept in SQLite (table ``job_run``), so a restart neither
repeats a job nor forgets one.

A job function gets the fire time and returns True (done) or False (not yet: e.g. day-ahead prices
not published); it is then retried every ``retry_s`` until the next fire time. Exceptions count as
"not yet" and are logged. Jobs run as asyncio tasks, never inside the cycle itself: `JobRunner` is a
cycle hook whose `on_cycle` only starts what is due and returns at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from hems.clock import Clock

log = logging.getLogger(__name__)

JobFunc = Callable[[datetime], Awaitable[bool | None]]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS job_run (
    name TEXT PRIMARY KEY,
    last_fire INTEGER NOT NULL,   -- UTC epoch seconds of the last fire time handled
    last_ok INTEGER,              -- when it last succeeded (UTC epoch seconds)
    last_error TEXT
)
"""


@dataclass
class Job:
    """One scheduled job."""

    name: str
    trigger: BaseTrigger
    func: JobFunc
    retry_s: float | None = None  #: retry a False/failed run after this long, until the next fire [s]
    misfire_grace_s: float = 6 * 3600.0  #: a missed fire older than this is skipped [s]
    timeout_s: float = 600.0  #: a run taking longer is cancelled and retried [s]


@dataclass
class _State:
    last_fire: datetime | None = None
    pending: datetime | None = None  #: fire time being worked on (running or waiting to retry)
    retry_at: datetime | None = None
    task: asyncio.Task[None] | None = None
    runs: int = 0
    first_after: tuple[datetime, datetime | None] | None = None  #: (last handled, its next fire time)


class JobRunner:
    """Runs `Job`s on the injected clock; persists progress on ``connection`` (optional)."""

    def __init__(
        self, clock: Clock, connection: sqlite3.Connection | None = None, lock: threading.RLock | None = None
    ) -> None:
        """``lock``: the storage's lock when ``connection`` is shared with other threads."""
        self.clock = clock
        self.db = connection
        self.lock = lock or threading.RLock()
        self.jobs: dict[str, Job] = {}
        self.state: dict[str, _State] = {}
        if self.db is not None:
            with self.lock:
                self.db.execute(_SCHEMA)
                _commit(self.db)

    def add(self, job: Job) -> None:
        self.jobs[job.name] = job
        st = _State()
        if self.db is not None:
            with self.lock:
                row = self.db.execute("SELECT last_fire FROM job_run WHERE name = ?", (job.name,)).fetchone()
            if row:
                st.last_fire = datetime.fromtimestamp(row[0], UTC)
        self.state[job.name] = st

    def due(self, job: Job, now: datetime) -> datetime | None:
        """The latest fire time in (last handled, now] within the grace time (coalesced), or None."""
        st = self.state[job.name]
        last = st.last_fire or now - timedelta(seconds=job.misfire_grace_s)
        latest = None
        if st.first_after is None or st.first_after[0] != last:  # asked every cycle: remember it
            st.first_after = (last, job.trigger.get_next_fire_time(last, last))
        fire = st.first_after[1]
        for _ in range(100_000):
            if fire is None or fire > now:
                break
            latest = fire
            fire = job.trigger.get_next_fire_time(fire, fire)
        if latest is None or (now - latest).total_seconds() > job.misfire_grace_s:
            if latest is not None:
                self._done(job.name, latest, ok=False, error="missed beyond the grace time")
            return None
        return latest.astimezone(UTC)

    async def on_cycle(self, snapshot: object = None) -> None:
        """Start every job that is due (or due for a retry); never waits for one to finish."""
        now = self.clock.now()
        for name, job in self.jobs.items():
            st = self.state[name]
            if st.task is not None and not st.task.done():
                continue
            if st.pending is not None:
                nxt = job.trigger.get_next_fire_time(st.pending, st.pending)
                newer = nxt is not None and nxt <= now
                if not newer and st.retry_at is not None and now < st.retry_at:
                    continue
                if newer:  # a newer fire time supersedes the retries of the old one
                    st.pending = None
            fire = st.pending or self.due(job, now)
            if fire is None:
                continue
            st.pending = fire
            st.task = asyncio.create_task(self._run(job, fire))

    async def _run(self, job: Job, fire: datetime) -> None:
        st = self.state[job.name]
        st.runs += 1
        error = None
        try:
            ok = await asyncio.wait_for(job.func(fire), job.timeout_s)
        except Exception as exc:  # a failing job is retried, never takes the daemon down
            log.exception("job %s (fire time %s) failed", job.name, fire.isoformat())
            ok, error = False, f"{type(exc).__name__}: {exc}"
        if ok is False and job.retry_s is not None:
            st.retry_at = self.clock.now() + timedelta(seconds=job.retry_s)
            log.info("job %s not done yet; retry at %s", job.name, st.retry_at.isoformat())
            with self.lock:
                self._record_error(job.name, error or "not yet")
            return
        self._done(job.name, fire, ok=ok is not False, error=error)

    def _done(self, name: str, fire: datetime, ok: bool, error: str | None = None) -> None:
        st = self.state[name]
        st.last_fire, st.pending, st.retry_at = fire, None, None
        if self.db is None:
            return
        now = int(self.clock.now().timestamp())
        with self.lock:
            self.db.execute(
                "INSERT INTO job_run (name, last_fire, last_ok, last_error) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET last_fire = excluded.last_fire, "
                "last_ok = COALESCE(excluded.last_ok, job_run.last_ok), last_error = excluded.last_error",
                (name, int(fire.timestamp()), now if ok else None, error),
            )
            _commit(self.db)

    def _record_error(self, name: str, error: str) -> None:
        if self.db is None:
            return
        with self.lock:
            self.db.execute("UPDATE job_run SET last_error = ? WHERE name = ?", (error, name))
            _commit(self.db)

    async def idle(self) -> None:
        """Wait for the jobs running now (a simulation moves its clock only once they are done)."""
        for st in self.state.values():
            if st.task is not None and not st.task.done():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await st.task

    async def stop(self) -> None:
        """Cancel running jobs (they are retried after the restart: not marked done)."""
        for st in self.state.values():
            if st.task is not None and not st.task.done():
                st.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await st.task


def _commit(db: sqlite3.Connection) -> None:
    """Commit on a connection with implicit transactions (the storage's is autocommit: committing
    there could end another thread's transaction)."""
    if db.isolation_level is not None and db.in_transaction:
        db.commit()


def daily(hour: int, minute: int, timezone: str) -> CronTrigger:
    """Every day at local ``hour:minute`` in ``timezone``."""
    return CronTrigger(hour=hour, minute=minute, timezone=timezone)


def every(minutes: float) -> IntervalTrigger:
    return IntervalTrigger(minutes=minutes, start_date=datetime(2020, 1, 1, tzinfo=UTC), timezone=UTC)


def standard_jobs(
    timezone: str,
    *,
    fetch_prices: JobFunc | None = None,
    forecast: JobFunc | None = None,
    rollups: JobFunc | None = None,
    report: JobFunc | None = None,
    telemetry: JobFunc | None = None,
    telemetry_hour: int = 3,
    research_jobs: JobFunc | None = None,
    replan: Callable[[str], None] | None = None,
) -> list[Job]:
    """The daemon's jobs; each function is the owning part's (the daemon passes them in).

    - ``prices``: day-ahead prices after their publication (~12:55 CET): 13:00 Brussels time, retried
      every 10 min until they arrive (the function returns False while they are missing);
    - ``forecast``: PV and load forecast every hour;
    - ``rollups``: nightly at 00:15 local; ``report``: daily at 06:00 local;
    - ``telemetry``: daily upload at ``telemetry_hour``:30 local, retried hourly;
    - ``research_jobs``: fetch, run and answer research jobs at ``telemetry_hour``:45, retried hourly.

    ``replan`` (`Control.request_replan`) is called after new prices or a new forecast arrived.
    """
    jobs = []
    if fetch_prices is not None:
        prices_job = _then_replan(fetch_prices, replan, "new day-ahead prices")
        jobs.append(Job("prices", daily(13, 0, "Europe/Brussels"), prices_job, retry_s=600))
    if forecast is not None:
        forecast_job = _then_replan(forecast, replan, "new forecast")
        jobs.append(Job("forecast", every(60), forecast_job, retry_s=600, misfire_grace_s=3600))
    if rollups is not None:
        jobs.append(Job("rollups", daily(0, 15, timezone), rollups, retry_s=1800))
    if report is not None:
        jobs.append(Job("report", daily(6, 0, timezone), report, retry_s=1800))
    if telemetry is not None:
        jobs.append(
            Job(
                "telemetry",
                daily(telemetry_hour, 30, timezone),
                telemetry,
                retry_s=3600,
                misfire_grace_s=20 * 3600,
            )
        )
    if research_jobs is not None:
        jobs.append(
            Job(
                "research_jobs",
                daily(telemetry_hour, 45, timezone),
                research_jobs,
                retry_s=3600,
                misfire_grace_s=20 * 3600,
            )
        )
    return jobs


def _then_replan(func: JobFunc, replan: Callable[[str], None] | None, reason: str) -> JobFunc:
    if replan is None:
        return func

    async def run(fire: datetime) -> bool | None:
        ok = await func(fire)
        if ok is not False:
            replan(reason)
        return ok

    return run
