"""Injected clocks. Logic never calls ``datetime.now()``; it asks the clock it was given.

- `SystemClock`: wall time (UTC), real sleeps.
- `SimClock`: simulated time that runs ``speed`` times faster than real time from a start instant
  (``speed=0`` means as fast as possible: sleeping just advances the clock).
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
    """Simulated time: ``now = start + (monotonic - t0) * speed``; ``speed <= 0`` runs unthrottled."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock start must be timezone-aware")
        self.start = start.astimezone(UTC)
        self.speed = speed
        self._t0 = time.monotonic()
        self._virtual = self.start  # used when unthrottled

    def now(self) -> datetime:
        if self.speed <= 0:
            return self._virtual
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    async def sleep_until(self, instant: datetime) -> None:
        if self.speed <= 0:
            self._virtual = max(self._virtual, instant)
            await asyncio.sleep(0)
            return
        delay = (instant - self.now()).total_seconds() / self.speed
        await asyncio.sleep(max(delay, 0.0))


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
