"""The telemetry job as `hems.jobs` runs it: done only when every complete day is acknowledged."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hems.clock import ManualClock
from hems.config import parse_config
from hems.storage import Storage
from hems.telemetry import deidentify_site
from hems.telemetry.job import telemetry_job

TZ = ZoneInfo("Europe/Oslo")


async def test_job_drains_a_backlog_hour_by_hour(server, household_db: Path) -> None:
    cfg = parse_config(
        {
            "site": {"postcode": "1081"},
            "telemetry": {
                "consent": True,
                "endpoint": server.url,
                "token": "tok-household-42",
                "ca_file": str(server.pki.ca_file),
                "backfill_days": 4,
                "max_batches_per_attempt": 2,
            },
        }
    )
    clock = ManualClock(datetime(2026, 3, 6, 3, 30, tzinfo=TZ).astimezone(UTC))
    with Storage.open(household_db) as st:
        job = telemetry_job(cfg.telemetry, st, clock, deidentify_site(cfg.site))
        outcomes = []
        for _ in range(4):
            outcomes.append(await job(clock.now()))
            clock.advance(3600)
    assert outcomes == [False, False, True, True]
    days = sorted(b.split("/")[1] for b in server.received.batches)
    assert days == [f"2026-03-0{d}" for d in range(1, 6)]
    assert len(server.received.requests) == 5
