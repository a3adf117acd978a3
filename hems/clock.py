"""Injected clocks. Logic never calls ``datetime.now()``; it asks the clock it was given.

- `SystemClock`: wall time (UTC), real sleeps.
- `SimClock`: simulated time that runs ``speed`` times faster than real time from a start instant
  (``speed=0`` means as fast as possible).
- `ManualClock`: tests move it by hand (`advance`, `set`); sleeping advances it instantly.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current instant, timezone-aware UTC."""
        ...

    async def sleep_until(self, instant: datetime) -> None:
        """Wait until ``now() >= instant``."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, instant: datetime) -> None:
        delay = (instant - self.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)


class SimClock:
    """Simulated time that advances in steps: ``now()`` is the instant last slept to, and
    `sleep_until` waits the real time that corresponds to the step at ``speed`` times real time.
    When the machine falls behind it does not skip instants, it just stops sleeping (so every cycle
    still happens, at its own simulated time). ``speed <= 0`` runs as fast as the machine can."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock start must be timezone-aware")
        self.start = start.astimezone(UTC)
        self.speed = speed
        self._t0: float | None = None  #: monotonic time of ``start``, fixed by the first sleep
        self._now = self.start
        self._stepped = time.monotonic()  #: monotonic time of the last step

    def now(self) -> datetime:
        return self._now

    def projected(self) -> datetime:
        """``now()`` plus the real time since the last step at ``speed``: what a viewer in another
        thread (the demo's dashboard) should take as now, so a stalled simulation looks stalled."""
        speed = self.speed if self.speed > 0 else 1.0
        return self._now + timedelta(seconds=(time.monotonic() - self._stepped) * speed)

    async def sleep_until(self, instant: datetime) -> None:
        if self.speed > 0:
            if self._t0 is None:  # real time starts counting at the first step, not at construction
                self._t0 = time.monotonic() - (instant - self.start).total_seconds() / self.speed
            due = self._t0 + (instant - self.start).total_seconds() / self.speed
            delay = due - time.monotonic()
            await asyncio.sleep(max(delay, 0.0))
        else:
            await asyncio.sleep(0)
        if instant > self._now:
            self._now = instant
            self._stepped = time.monotonic()


class ProjectedClock:
    """A read-only view of a `SimClock` for another thread: ``now()`` is its `projected` time."""

    def __init__(self, sim: SimClock) -> None:
        self.sim = sim

    def now(self) -> datetime:
        return self.sim.projected()

    async def sleep_until(self, instant: datetime) -> None:
        while self.now() < instant:
            await asyncio.sleep(0.05)


class ManualClock:
    """A clock tests drive by hand; `sleep_until` leaps to the instant."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock start must be timezone-aware")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = instant.astimezone(UTC)

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    async def sleep_until(self, instant: datetime) -> None:
        if instant > self._now:
            self._now = instant
        await asyncio.sleep(0)
