"""The daemon's report job, in the shape of `hems.jobs` (``async (fire) -> bool``).

Each morning it stores yesterday's day report as the document ``report.day.<YYYY-MM-DD>``; on a
Monday also last week's (``report.week.<monday>``), on the 1st last month's
(``report.month.<YYYY-MM>``), so the dashboard and MQTT can show them without recomputing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hems.reports.summary import build_report


def due_reports(fire_local_day: date) -> list[tuple[str, date, str]]:
    """(period, a day in it, document key) of the reports complete on the morning of a day."""
    yesterday = fire_local_day - timedelta(days=1)
    out = [("day", yesterday, f"report.day.{yesterday.isoformat()}")]
    if fire_local_day.weekday() == 0:
        monday = fire_local_day - timedelta(days=7)
        out.append(("week", monday, f"report.week.{monday.isoformat()}"))
    if fire_local_day.day == 1:
        out.append(("month", yesterday, f"report.month.{yesterday:%Y-%m}"))
    return out


def store_reports(storage: Any, fire: datetime, tz: ZoneInfo, tariff: Any = None) -> list[str]:
    """Build and store the reports due at ``fire``; returns the document keys written."""
    keys = []
    for period, day, key in due_reports(fire.astimezone(tz).date()):
        storage.put_doc(key, build_report(storage, period, day, tz, tariff=tariff).to_dict(), fire)
        keys.append(key)
    return keys


def report_job(storage: Any, timezone: str, tariff: Any = None) -> Callable[[datetime], Awaitable[bool]]:
    """A `hems.jobs.JobFunc` for ``standard_jobs(report=...)``; runs in a worker thread."""
    tz = ZoneInfo(timezone)

    async def run(fire: datetime) -> bool:
        await asyncio.to_thread(store_reports, storage, fire, tz, tariff)
        return True

    return run
