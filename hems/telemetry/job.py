"""The daemon's telemetry job, in the shape of `hems.jobs` (``async (fire) -> bool``).

Runs `daily_upload` in a worker thread (it does HTTPS with a timeout; the cycle never waits for it).
Returns True when nothing is left to send, False otherwise, so `hems.jobs` retries it (hourly)
until every complete day is acknowledged: that drains a backlog at ``max_batches_per_attempt``
per hour after an outage, without flooding the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from hems.clock import Clock
from hems.telemetry.config import TelemetryConfig
from hems.telemetry.privacy import SiteFacts
from hems.telemetry.upload import UploadResult, daily_upload

log = logging.getLogger(__name__)


def telemetry_job(
    config: TelemetryConfig, storage: Any, clock: Clock, site: SiteFacts, simulated: bool = False
) -> Callable[[datetime], Awaitable[bool]]:
    """A `hems.jobs.JobFunc` that uploads telemetry; pass it as ``standard_jobs(telemetry=...)``.
    ``simulated``: the database is the digital twin's and the user asked to upload it anyway."""

    # its own thread, one run at a time: a stuck server can hold at most this one thread, never the
    # event loop's shared pool that the planner and the forecast need
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="telemetry")
    running: list[Future[UploadResult]] = []

    async def run(fire: datetime) -> bool:
        if running and not running[0].done():
            log.warning("telemetry: the previous upload is still running; this one is skipped")
            return False
        future = pool.submit(daily_upload, config, storage, clock, site, simulated)
        running[:] = [future]
        try:
            result: UploadResult = await asyncio.shield(asyncio.wrap_future(future))
        except asyncio.CancelledError:
            # the box is stopping: an upload under way finishes first (bounded by its own request
            # deadline), so the storage it reads is not closed under it and nothing is sent twice
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.wrap_future(future), timeout=2 * config.timeout_s + 5)
            raise
        if result.sent or result.queued:
            log.info(
                "telemetry: queued %s, sent %d, pending %d", result.queued, len(result.sent), result.pending
            )
        if result.error:
            log.warning("telemetry: %s (%d batch(es) waiting)", result.error, result.pending)
        return result.pending == 0

    return run
