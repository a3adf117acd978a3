"""Reading the time column of a meter-data file: ISO 8601 with an offset, or the wall clock of a zone.

A file of local times without offsets (what many grid companies' portals export) is ambiguous twice a
year: the hour skipped when clocks go forward does not exist, and the hour repeated when they go back
appears twice. Such a file is read in order, so the second time a repeated wall-clock time appears it
is taken as the later (winter-time) instant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


class TimestampError(ValueError):
    """A time that is not ISO 8601, or a wall-clock time that does not exist in the zone."""


def parse_file_time(text: str, zone: ZoneInfo, seen_local: set[datetime]) -> datetime:
    """The UTC instant of one time cell; ``seen_local`` carries the naive times read so far.

    Accepts ``2026-01-01T00:00:00+01:00``, ``2026-01-01 00:00`` (a space for the ``T``) and naive
    wall-clock times of ``zone``. Raises `TimestampError` saying why a cell cannot be read.
    """
    raw = text.strip()
    try:
        t = datetime.fromisoformat(raw.replace(" ", "T", 1))
    except ValueError:
        raise TimestampError(
            f"time {raw!r} is not a date and time (expected e.g. 2026-01-01T00:00:00+01:00)"
        ) from None
    if t.tzinfo is not None:
        return t.astimezone(UTC)
    local = t.replace(tzinfo=zone)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != t:
        raise TimestampError(
            f"local time {raw} does not exist in {zone.key} (the hour skipped when clocks go forward)"
        )
    if local.replace(fold=1).utcoffset() != local.utcoffset() and t in seen_local:
        local = local.replace(fold=1)  # the repeated hour in autumn, second time round: winter time
    seen_local.add(t)
    return local.astimezone(UTC)
