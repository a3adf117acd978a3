"""Metered energy of a community as exact integers: a billing month, its quarter-hours, raw readings.

Energies are integer watt-hours [Wh] everywhere in community/, so every sum is exact: a slot's
allocation adds up to its production to the Wh, and a month to the sum of its slots.

Rounding rule (one, documented in docs/community.md): a source value in kWh, Wh or mean W over the
quarter-hour becomes Wh by exact decimal arithmetic (`decimal.Decimal`, never binary floats) and is
rounded once, to the nearest Wh, halves away from zero (``ROUND_HALF_UP``): 0.0125 kWh → 13 Wh,
250.5 W over 15 min → 62.625 Wh → 63 Wh. Splitting a slot's energy among several participants
rounds with the largest-remainder rule in `community.allocation`.

Slots are the half-open quarter-hours [start, start + 15 min), starts in UTC; a local day has 92, 96
or 100 of them (DST). A billing period is a local calendar month of the community's time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from tariffs.capacity import month_bounds
from tariffs.series import local_day_bounds

SLOT = timedelta(minutes=15)
SLOT_HOURS = Decimal("0.25")  #: [h] of a quarter-hour
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def to_wh(value: Decimal | int | str, unit: str) -> int:
    """One source value → integer Wh (``unit``: ``wh``, ``kwh`` or ``w`` = mean power over 15 min).

    Raises ValueError for text that is not a finite number.
    """
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not d.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    if unit == "kwh":
        d *= 1000
    elif unit == "w":
        d *= SLOT_HOURS
    elif unit != "wh":
        raise ValueError(f"unknown unit {unit!r}; expected wh, kwh or w")
    return int(d.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Period:
    """A local calendar month: its UTC bounds and quarter-hour slot starts."""

    label: str  #: "YYYY-MM"
    tz: str
    start: datetime  #: UTC, local midnight of the 1st
    end: datetime  #: UTC, local midnight of the next month's 1st
    slots: tuple[datetime, ...]

    @classmethod
    def month(cls, text: str, tz: str) -> Period:
        """``YYYY-MM`` in time zone ``tz``; ValueError says what was expected."""
        m = _PERIOD.match(text.strip())
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"expected a month YYYY-MM, got {text!r}")
        start, end = month_bounds(int(m.group(1)), int(m.group(2)), tz)
        n = int((end - start) / SLOT)
        return cls(text.strip(), tz, start, end, tuple(start + SLOT * i for i in range(n)))

    def __len__(self) -> int:
        return len(self.slots)

    def index(self, slot: datetime) -> int | None:
        """Position of a slot start in the period, or None (outside it, or not on the grid)."""
        offset = slot - self.start
        i, rest = divmod(offset, SLOT)
        if rest or not 0 <= i < len(self.slots):
            return None
        return int(i)

    def days(self) -> list[tuple[date, int, int]]:
        """Each local day: (day, first slot index, number of slots: 92, 96 or 100)."""
        zone = ZoneInfo(self.tz)
        out: list[tuple[date, int, int]] = []
        day = self.start.astimezone(zone).date()
        while True:
            d0, d1 = local_day_bounds(day, self.tz)
            if d0 >= self.end:
                return out
            out.append((day, int((d0 - self.start) / SLOT), int((d1 - d0) / SLOT)))
            day += timedelta(days=1)

    def local(self, slot: datetime) -> str:
        """A slot start as local wall-clock text with its offset (``2025-10-26 02:15+01:00``)."""
        t = slot.astimezone(ZoneInfo(self.tz))
        off = t.strftime("%z")
        return f"{t:%Y-%m-%d %H:%M}{off[:3]}:{off[3:]}"


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of a source: a quarter-hour's energy [Wh] and where it came from."""

    slot: datetime  #: UTC start
    wh: int
    where: str  #: "file:line" or "file: IntervalBlock 3", for messages


@dataclass
class RawSeries:
    """What one source holds, before any check: readings in file order, and parse-level problems
    (a time that does not exist on a DST day, a value that is not a number...)."""

    source: str  #: the file, for messages
    readings: list[Reading] = field(default_factory=list)
    problems: list[tuple[datetime | None, str, str]] = field(default_factory=list)  #: (slot, check, text)


def utc(t: datetime) -> datetime:
    return t.astimezone(UTC)
