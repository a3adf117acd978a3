"""Reading devices within the cycle: a timeout per read, and backoff for a device that fails.

A device that fails (raises, or does not answer within the timeout) is marked missing for that cycle,
and is not asked again until its backoff has passed (one cycle, then doubling up to ``max_backoff_s``),
so a dead meter costs almost nothing while it is dead and is picked up again when it comes back.
The first failure and the recovery are logged once each; repeated failures are counted, not logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class DeviceHealth:
    failures: int = 0  #: consecutive failures
    total_failures: int = 0
    reads: int = 0
    last_error: str | None = None
    retry_at: datetime | None = None


class PolledDevice(Generic[T]):
    """Wraps one device's ``read`` with timeout and backoff (all times from the cycle's clock)."""

    def __init__(
        self,
        device_id: str,
        read: Callable[[], Awaitable[T]],
        *,
        timeout_s: float,
        cycle_s: float,
        max_backoff_s: float = 300.0,
    ) -> None:
        self.id = device_id
        self._read = read
        self.timeout_s = timeout_s
        self.cycle_s = cycle_s
        self.max_backoff_s = max_backoff_s
        self.health = DeviceHealth()

    async def poll(self, now: datetime) -> T | str:
        """The reading, or a string saying why there is none this cycle."""
        h = self.health
        if h.retry_at is not None and now < h.retry_at:
            return f"{h.last_error} (retrying at {h.retry_at.isoformat()})"
        try:
            value = await asyncio.wait_for(self._read(), self.timeout_s)
        except TimeoutError:
            return self._failed(now, f"no answer within {self.timeout_s:g} s")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a driver's error must never stop the cycle
            return self._failed(now, str(exc) or type(exc).__name__)
        if h.failures:
            log.info("%s: reading again after %d failed attempts", self.id, h.failures)
        h.failures = 0
        h.retry_at = None
        h.last_error = None
        h.reads += 1
        return value

    def _failed(self, now: datetime, reason: str) -> str:
        h = self.health
        h.failures += 1
        h.total_failures += 1
        h.last_error = reason
        backoff = min(self.cycle_s * 2 ** (h.failures - 1), self.max_backoff_s)
        # the first retry is the next cycle; later ones back off
        h.retry_at = now + timedelta(seconds=backoff) - timedelta(seconds=self.cycle_s * 0.5)
        if h.failures == 1:
            log.warning("%s: %s", self.id, reason)
        return reason


async def poll_all(devices: list[PolledDevice[Any]], now: datetime) -> dict[str, Any]:
    """Poll every device concurrently; device id → reading or reason string."""
    results = await asyncio.gather(*(d.poll(now) for d in devices))
    return {d.id: r for d, r in zip(devices, results, strict=True)}
