"""The daemon's research-jobs job, in the shape of `hems.jobs` (``async (fire) -> bool``).

Runs `service.sync` in a worker thread once a day after the telemetry upload. Returns True when no
result is waiting to be sent, so `hems.jobs` retries hourly until the server has them all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from hems.clock import Clock
from hems.research_jobs.config import ResearchJobsConfig
from hems.telemetry.config import TelemetryConfig

log = logging.getLogger(__name__)


def research_jobs_job(
    telemetry: TelemetryConfig, config: ResearchJobsConfig, storage: Any, clock: Clock, facts: dict[str, Any]
) -> Callable[[datetime], Awaitable[bool]]:
    """A `hems.jobs.JobFunc`; ``facts`` is `hems.research_jobs.facts.box_facts` of the configuration."""

    def round_() -> bool:
        from hems.research_jobs.service import sync
        from hems.research_jobs.store import JobStore

        result = sync(telemetry, config, storage, clock.now(), facts)
        if result.received or result.ran or result.failed or result.sent:
            log.info(
                "research jobs: %d new (%d waiting for the household), %d ran, %d stopped, %d sent",
                len(result.received),
                len(result.waiting),
                len(result.ran),
                len(result.failed),
                len(result.sent),
            )
        if result.error:
            log.warning("research jobs: %s", result.error)
        if result.stopped:
            return True
        return not JobStore(storage.connection, getattr(storage, "lock", None)).records("done")

    async def run(fire: datetime) -> bool:
        return await asyncio.to_thread(round_)

    return run
