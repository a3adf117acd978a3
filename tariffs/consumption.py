"""A household's metered consumption from a CSV file (`time,kwh`), for `hems bill`.

The file (what a meter portal or Elhub export holds, reduced to two columns)::

    time,kwh
    2026-01-01T00:00:00+01:00,1.234
    2026-01-01T01:00:00+01:00,0.987

- ``time`` is the **start** of the interval, ISO 8601: local time with its offset
  (``+01:00``/``+02:00``), UTC (``Z`` or ``+00:00``), or local time without an offset (read in the
  household's time zone; on the night clocks go back, the repeated hour's first row is summer time
  and its second winter time, as the rows come). A local time that does not exist (the skipped
  spring hour) is an error.
- ``kwh`` is the energy imported during the interval [kWh], ≥ 0.
- Hourly or quarter-hourly rows, one resolution per file, in time order; gaps are allowed and
  reported (`Consumption.month`), duplicates are not. ``;`` as the separator with decimal commas
  (a spreadsheet's Norwegian export) is read too; other columns are ignored.

Every problem is a `ConsumptionError` naming the file and line: ``use.csv:7: kwh 'x' is not a number``.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

from tariffs.capacity import month_bounds
from tariffs.series import EnergySeries
from tariffs.timestamps import TimestampError, parse_file_time


class ConsumptionError(ValueError):
    """A consumption file that cannot be read as it stands (the message says where and why)."""


@dataclass(frozen=True)
class MonthUse:
    """One local calendar month of consumption on its slot grid, missing slots as 0 kWh."""

    energy: EnergySeries  #: the whole month [kWh per slot]
    missing: list[datetime]  #: UTC starts of the slots without a row
    rows_elsewhere: int  #: rows of the file outside this month


@dataclass(frozen=True)
class Consumption:
    """Imported energy per slot [kWh], keyed by the slot's UTC start."""

    slot_minutes: int  #: 15 or 60
    kwh: dict[datetime, float]
    source: str

    def series(self, start: datetime, end: datetime) -> tuple[EnergySeries, list[datetime]]:
        """The slots in [start, end) as a series (0 where the file has no row) and the missing ones."""
        step = timedelta(minutes=self.slot_minutes)
        n = int((end - start) / step)
        starts = [start + step * i for i in range(n)]
        values = tuple(self.kwh.get(t, 0.0) for t in starts)
        return EnergySeries(start, self.slot_minutes, values), [t for t in starts if t not in self.kwh]

    def month(self, year: int, month: int, tz: str) -> MonthUse:
        """Local calendar month ``year-month``; raises `ConsumptionError` when the file has none of it."""
        start, end = month_bounds(year, month, tz)
        inside = sum(1 for t in self.kwh if start <= t < end)
        if not inside:
            first, last = min(self.kwh), max(self.kwh)
            zone = ZoneInfo(tz)
            raise ConsumptionError(
                f"{self.source}: no consumption in {year:04d}-{month:02d} (the file covers "
                f"{first.astimezone(zone):%Y-%m-%d %H:%M} .. {last.astimezone(zone):%Y-%m-%d %H:%M})"
            )
        energy, missing = self.series(start, end)
        return MonthUse(energy, missing, len(self.kwh) - inside)


def _time(text: str, zone: ZoneInfo, seen_local: set[datetime], where: str) -> datetime:
    try:
        return parse_file_time(text, zone, seen_local)
    except TimestampError as exc:
        raise ConsumptionError(f"{where}: {exc}") from None


def _kwh(text: str, decimal_comma: bool, where: str) -> float:
    raw = text.strip()
    try:
        value = float(raw.replace(",", ".") if decimal_comma else raw)
    except ValueError:
        raise ConsumptionError(f"{where}: kwh {raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ConsumptionError(f"{where}: kwh {raw} is not an energy (expected a number ≥ 0)")
    return value


def parse_consumption_csv(text: str, source: str = "<csv>", tz: str = "Europe/Oslo") -> Consumption:
    """Read a ``time,kwh`` CSV (module docstring) → `Consumption`; `ConsumptionError` names the line."""
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first and "," not in first.replace('","', "") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not rows:
        raise ConsumptionError(f"{source}: empty file (expected a header time,kwh and one row per interval)")
    header = [h.strip().lower() for h in rows[0]]
    if "time" not in header or "kwh" not in header:
        raise ConsumptionError(
            f"{source}:1: header must name the columns time,kwh (got {','.join(rows[0])!r})"
        )
    ti, ki = header.index("time"), header.index("kwh")
    zone = ZoneInfo(tz)
    seen_local: set[datetime] = set()
    points: list[tuple[int, datetime, float]] = []
    for line, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{source}:{line}"
        if len(row) <= max(ti, ki):
            raise ConsumptionError(f"{where}: expected {len(header)} columns, got {len(row)}")
        t = _time(row[ti], zone, seen_local, where)
        points.append((line, t, _kwh(row[ki], delimiter == ";", where)))
    if not points:
        raise ConsumptionError(f"{source}: no rows after the header")
    return Consumption(_resolution(points, source), {t: e for _, t, e in points}, source)


def _resolution(points: list[tuple[int, datetime, float]], source: str) -> int:
    """15 or 60 [min], checking order, grid, duplicates and a resolution change on the way."""
    steps = [(line, (t - prev).total_seconds() / 60) for (_, prev, _), (line, t, _) in pairwise(points)]
    quarter = any(t.minute % 60 for _, t, _ in points) or any(step == 15 for _, step in steps)
    minutes = 15 if quarter else 60
    for line, t, _ in points:
        if t.minute % minutes or t.second or t.microsecond:
            raise ConsumptionError(
                f"{source}:{line}: time {t:%H:%M:%S} UTC is not on the {minutes}-minute grid"
            )
    run = 0
    for line, step in steps:
        if step == 0:
            raise ConsumptionError(f"{source}:{line}: the same interval twice")
        if step < 0:
            raise ConsumptionError(f"{source}:{line}: rows must be in time order (this one is earlier)")
        run = run + 1 if minutes == 15 and step == 60 else 0
        if run == 3:  # three hourly steps in a quarter-hour file: hourly values, not gaps
            raise ConsumptionError(
                f"{source}:{line}: the rows change from 15-minute to hourly values; give one resolution"
            )
    return minutes


def read_consumption(path: str | Path, tz: str = "Europe/Oslo") -> Consumption:
    """Read a consumption CSV file; `ConsumptionError` for an unreadable or malformed one."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConsumptionError(f"{p}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConsumptionError(f"{p}: not UTF-8 text, expected a CSV file time,kwh") from None
    return parse_consumption_csv(text, str(p), tz)
