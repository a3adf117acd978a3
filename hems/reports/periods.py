"""Report periods: a local day, an ISO week (Monday–Sunday) or a calendar month.

Bounds are local midnights turned into UTC instants, so a period is [start, end) in UTC and a DST
day is 23 or 25 hours long. Pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = ("day", "week", "month")


@dataclass(frozen=True)
class Span:
    """A report period: local dates [first, last] and the UTC instants [start, end)."""

    period: Period
    first: date  #: first local day
    last: date  #: last local day (inclusive)
    start: datetime  #: local midnight of ``first``, UTC
    end: datetime  #: local midnight after ``last``, UTC
    tz: ZoneInfo

    @property
    def label(self) -> str:
        if self.period == "day":
            return self.first.isoformat()
        if self.period == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d} ({self.first.isoformat()} – {self.last.isoformat()})"
        return f"{self.first:%Y-%m}"

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    @property
    def hours(self) -> float:
        """Length of the period [h] (a DST day has 23 or 25)."""
        return (self.end - self.start).total_seconds() / 3600


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The instant (UTC) local ``day`` begins."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def span(period: str, day: date, tz: ZoneInfo) -> Span:
    """The period of kind ``period`` that contains local ``day``."""
    if period == "day":
        first = last = day
    elif period == "week":
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=6)
    elif period == "month":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        last = following - timedelta(days=1)
    else:
        raise ValueError(f"unknown period {period!r}; expected day, week or month")
    end = local_midnight(last + timedelta(days=1), tz)
    return Span(period, first, last, local_midnight(first, tz), end, tz)  # type: ignore[arg-type]


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()
