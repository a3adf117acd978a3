"""Quarter-hour slots of a local day, and local clock keys. Pure standard library.

A local day has 92, 96 or 100 quarter-hours (spring-forward, normal, fall-back). Slots are half-open
``[start, start + 15 min)`` and their starts are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SLOT = timedelta(minutes=15)
SLOT_H = 0.25  #: slot length [h]


def local_midnight_utc(day: date, tz: str) -> datetime:
    """UTC instant of local midnight starting ``day`` in ``tz``."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def day_slots(day: date, tz: str) -> list[datetime]:
    """UTC starts of the quarter-hour slots of local ``day`` (92/96/100 of them)."""
    start = local_midnight_utc(day, tz)
    end = local_midnight_utc(day + timedelta(days=1), tz)
    n = int((end - start) / SLOT)
    return [start + i * SLOT for i in range(n)]


def local_date(instant: datetime, tz: str) -> date:
    """Local calendar date of an aware instant."""
    return instant.astimezone(ZoneInfo(tz)).date()


def local_hour(instant: datetime, tz: str) -> int:
    """Local clock hour 0..23 of an aware instant."""
    return instant.astimezone(ZoneInfo(tz)).hour


def local_quarter(instant: datetime, tz: str) -> int:
    """Local clock quarter-hour of day 0..95 (the repeated hour on fall-back maps twice)."""
    t = instant.astimezone(ZoneInfo(tz))
    return t.hour * 4 + t.minute // 15


def iso_z(instant: datetime) -> str:
    """ISO-8601 UTC with a ``Z``: ``2026-06-21T10:15:00Z``."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Parse an ISO-8601 instant (``Z`` or an offset) to aware UTC; naive text is rejected."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"time without a UTC offset: {text!r}")
    return value.astimezone(UTC)
