"""Reading a participant's quarter-hour series: CSV, Green Button (ESPI) XML, or a hems box.

- **CSV** (``,`` or ``;`` separated): a time column (``start``, ``time_utc``, ``time``,
  ``timestamp``, ``horodate``) and a value column (``wh``, ``energy_wh``, ``kwh``, ``energy_kwh``,
  ``mean_w``, or ``column =`` with ``unit =``). `hems export --format csv` output
  (``time_utc,time_local,mean_w,...``) is read as it is. Times are ISO 8601; with an offset they are
  exact; without one they are wall-clock times of the community's zone: the hour repeated when
  clocks go back is taken in file order (first summer time, then winter time), and a time that does
  not exist (the skipped hour in spring) is a DST problem. ``stamp = "end"`` for meters that stamp
  the end of the interval (as many grid operators' load curves do).
- **ESPI**: an Atom feed of UsagePoint/MeterReading/ReadingType/IntervalBlock entries, as
  `hems export --format espi` and utilities' "Download My Data" write. The MeterReading is chosen
  by its ReadingType's flowDirection (1 forward = consumption, 19 reverse = injection), or by title.
  Values × 10^powerOfTenMultiplier in Wh (uom 72); intervals must be 900 s. A day's IntervalBlock
  whose duration is not the local day's length (82 800 / 86 400 / 90 000 s) is a DST problem.
- **hems box**: a hems database, through a reader the caller injects (hems/ owns storage; this
  part depends only on tariffs/): 15-minute means of a power channel [W].

Problems inside a readable source are recorded on the `RawSeries` for the conformity report; a file
that cannot be read at all raises `SourceError` (one line: file and what was expected).
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from community.series import SLOT, Period, RawSeries, Reading, to_wh
from tariffs.series import local_day_bounds
from tariffs.timestamps import TimestampError, parse_file_time

ATOM = "{http://www.w3.org/2005/Atom}"
ESPI = "{http://naesb.org/espi}"
TIME_COLUMNS = ("start", "time_utc", "time", "timestamp", "horodate", "datetime")
VALUE_COLUMNS = {"wh": "wh", "energy_wh": "wh", "kwh": "kwh", "energy_kwh": "kwh", "mean_w": "w"}
FLOWS = {"forward": "1", "reverse": "19"}

#: (database path, channel, start, end) → [(UTC slot start, mean power [W])] of 15-minute slots
BoxReader = Callable[[Path, str, datetime, datetime], list[tuple[datetime, float]]]
Direction = Literal["consumption", "injection"]


class SourceError(ValueError):
    """A source that cannot be read at all: the message names the file and what was expected."""


def detect_format(path: Path, given: str | None) -> str:
    if given:
        return given
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".xml":
        return "espi"
    if suffix in (".db", ".sqlite", ".sqlite3"):
        return "hems-db"
    raise SourceError(f"{path}: cannot tell the format from the name; set format = csv, espi or hems-db")


# ----- CSV -----------------------------------------------------------------------------------------
def _parse_time(text: str, zone: ZoneInfo, seen: set[datetime]) -> tuple[datetime | None, str | None]:
    """(UTC instant, None) or (None, why not). Naive times are wall-clock times of ``zone``."""
    try:
        return parse_file_time(text, zone, seen), None
    except TimestampError as exc:
        return None, str(exc)


def parse_csv(
    text: str,
    source: str,
    tz: str,
    *,
    column: str | None = None,
    unit: str | None = None,
    stamp: str = "start",
) -> RawSeries:
    """A quarter-hour CSV (see the module docstring) → `RawSeries` [Wh]."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or not lines[0].strip():
        raise SourceError(f"{source}: empty file, expected a header with a time and a value column")
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader)]
    time_col = next((c for c in TIME_COLUMNS if c in header), None)
    if time_col is None:
        raise SourceError(f"{source}: no time column; expected one of {', '.join(TIME_COLUMNS)}")
    if column is not None:
        value_col = column.lower()
        if value_col not in header:
            raise SourceError(f"{source}: no column {column!r} (the header has {', '.join(header)})")
        value_unit = unit or VALUE_COLUMNS.get(value_col)
        if value_unit is None:
            raise SourceError(f"{source}: column {column!r}: set unit = wh, kwh or w")
    else:
        value_col = next((c for c in VALUE_COLUMNS if c in header), "")
        if not value_col:
            raise SourceError(
                f"{source}: no value column; expected one of {', '.join(VALUE_COLUMNS)} (or set column =)"
            )
        value_unit = unit or VALUE_COLUMNS[value_col]
    ti, vi = header.index(time_col), header.index(value_col)
    zone = ZoneInfo(tz)
    out = RawSeries(source)
    seen: set[datetime] = set()
    shift = SLOT if stamp == "end" else timedelta(0)
    for line, row in enumerate(reader, 2):
        if not row or all(not cell.strip() for cell in row):
            continue
        where = f"{source}:{line}"
        if len(row) <= max(ti, vi):
            out.problems.append((None, "format", f"{where}: {len(row)} fields, expected {len(header)}"))
            continue
        t, why = _parse_time(row[ti], zone, seen)
        if t is None:
            out.problems.append(
                (None, "dst" if "does not exist" in str(why) else "format", f"{where}: {why}")
            )
            continue
        t -= shift
        if t.second or t.microsecond or t.minute % 15:
            out.problems.append((t, "format", f"{where}: {row[ti].strip()} is not on a quarter-hour"))
            continue
        try:
            wh = to_wh(row[vi], value_unit)
        except ValueError as exc:
            out.problems.append((t, "format", f"{where}: {value_col}: {exc}"))
            continue
        out.readings.append(Reading(t, wh, where))
    _check_hourly(out)
    return out


def _check_hourly(raw: RawSeries) -> None:
    """An hourly series would show up as three gaps an hour: say what it really is, once."""
    if len(raw.readings) >= 2 and all(r.slot.minute == 0 for r in raw.readings):
        raw.problems.append(
            (raw.readings[0].slot, "format", f"{raw.source}: hourly values; 15-minute values are expected")
        )


# ----- ESPI ----------------------------------------------------------------------------------------
def _same(a: str, b: str) -> bool:
    """Two ESPI hrefs name the same resource (one may be relative, the other absolute)."""
    a, b = a.rstrip("/"), b.rstrip("/")
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def _num(el: ET.Element | None, tag: str, default: str | None = None) -> str | None:
    child = el.find(f"{ESPI}{tag}") if el is not None else None
    return child.text.strip() if child is not None and child.text else default


def parse_espi(
    data: bytes, source: str, tz: str, *, flow: str = "forward", reading: str | None = None
) -> RawSeries:
    """The quarter-hour series of one MeterReading of a Green Button feed → `RawSeries` [Wh]."""
    try:
        feed = ET.fromstring(data)
    except ET.ParseError as exc:
        raise SourceError(f"{source}: not well-formed XML ({exc})") from None
    types: dict[str, ET.Element] = {}
    readings: list[tuple[str, str, list[str]]] = []  # (self href, title, related hrefs)
    blocks: list[tuple[str, ET.Element]] = []  # (up href, IntervalBlock)
    for entry in feed.iter(f"{ATOM}entry"):
        links = {(ln.get("rel"), ln.get("href") or "") for ln in entry.findall(f"{ATOM}link")}
        self_href = next((h for r, h in links if r == "self"), "")
        up = next((h for r, h in links if r == "up"), "")
        title = (entry.findtext(f"{ATOM}title") or "").strip()
        content = entry.find(f"{ATOM}content")
        if content is None:
            continue
        if (rt := content.find(f"{ESPI}ReadingType")) is not None:
            types[self_href] = rt
        elif content.find(f"{ESPI}MeterReading") is not None:
            readings.append((self_href, title, [h for r, h in links if r == "related"]))
        else:
            blocks.extend((up, b) for b in content.findall(f"{ESPI}IntervalBlock"))
    if not readings:
        raise SourceError(f"{source}: no MeterReading entry; expected a Green Button (ESPI) feed")
    wanted = FLOWS.get(flow, flow)
    matches = []
    for href, title, related in readings:
        rt = next((types[k] for k in types for h in related if _same(k, h)), None)
        if rt is None:
            continue
        if (reading is not None and title == reading) or (
            reading is None and _num(rt, "flowDirection", "1") == wanted
        ):
            matches.append((href, title, rt))
    if len(matches) != 1:
        titles = ", ".join(repr(t) for _, t, _ in readings)
        what = f"reading {reading!r}" if reading else f"flowDirection {wanted} ({flow})"
        n = "no" if not matches else "several"
        raise SourceError(f"{source}: {n} MeterReading with {what}; the feed has {titles} (set reading =)")
    href, title, rt = matches[0]
    uom, power = _num(rt, "uom"), int(_num(rt, "powerOfTenMultiplier", "0") or 0)
    if uom != "72":
        raise SourceError(f"{source}: {title!r} has uom {uom}, expected 72 (Wh)")
    scale = Decimal(10) ** power
    zone = ZoneInfo(tz)
    out = RawSeries(source)
    mine = [block for up, block in blocks if _same(up, f"{href}/IntervalBlock")]
    for j, block in enumerate(mine, 1):
        where = f"{source}: {title} IntervalBlock {j}"
        interval = block.find(f"{ESPI}interval")
        _check_day_block(out, where, _num(interval, "start"), _num(interval, "duration"), zone)
        for k, ir in enumerate(block.findall(f"{ESPI}IntervalReading"), 1):
            period = ir.find(f"{ESPI}timePeriod")
            start, duration, value = _num(period, "start"), _num(period, "duration"), _num(ir, "value")
            try:
                t = datetime.fromtimestamp(int(start or ""), UTC)
                wh = to_wh(Decimal(value or "") * scale, "wh")
            except (ValueError, ArithmeticError):
                out.problems.append(
                    (None, "format", f"{where} reading {k}: start {start!r}, value {value!r}")
                )
                continue
            if duration != "900" or t.minute % 15 or t.second:
                out.problems.append(
                    (t, "format", f"{where} reading {k}: {duration} s from {t:%H:%M} UTC, expected 900 s")
                )
                continue
            out.readings.append(Reading(t, wh, f"{where} reading {k}"))
    if not out.readings and not out.problems:
        out.problems.append((None, "format", f"{source}: {title!r} has no IntervalReading"))
    return out


def _check_day_block(
    out: RawSeries, where: str, start: str | None, duration: str | None, zone: ZoneInfo
) -> None:
    """A block that starts at local midnight covers one local day: 23, 24 or 25 hours."""
    if start is None or duration is None or not start.isdigit() or not duration.isdigit():
        return
    t0 = datetime.fromtimestamp(int(start), UTC)
    local = t0.astimezone(zone)
    if local.hour or local.minute or int(duration) % 3600 or not 82800 <= int(duration) <= 90000:
        return
    day = local.date()
    d0, d1 = local_day_bounds(day, zone.key)
    length = int((d1 - d0).total_seconds())
    if int(duration) != length:
        out.problems.append(
            (
                t0,
                "dst",
                f"{where}: the block for {day} lasts {int(duration)} s, but that local day has {length} s "
                f"({length // 900} quarter-hours)",
            )
        )


# ----- dispatch ------------------------------------------------------------------------------------
def read_source(
    path: Path,
    fmt: str,
    period: Period,
    direction: Direction,
    *,
    channel: str | None = None,
    flow: str | None = None,
    reading: str | None = None,
    column: str | None = None,
    unit: str | None = None,
    stamp: str = "start",
    box_reader: BoxReader | None = None,
) -> RawSeries:
    """Read one source for ``period``; raises `SourceError` when it cannot be read at all."""
    tz = period.tz
    if fmt == "hems-db":
        if box_reader is None:
            raise SourceError(f"{path}: reading a hems box database needs the hems command line")
        if not path.is_file():
            raise SourceError(f"{path}: no such database file")
        ch = channel or ("grid.p_import_w" if direction == "consumption" else "grid.p_export_w")
        out = RawSeries(f"{path} [{ch}]")
        try:
            points = box_reader(path, ch, period.start, period.end)
        except (OSError, ValueError) as exc:
            raise SourceError(f"{path}: cannot read the hems database: {exc}") from None
        for t, mean_w in points:
            out.readings.append(
                Reading(
                    t.astimezone(UTC), to_wh(repr(float(mean_w)), "w"), f"{out.source} {t:%Y-%m-%d %H:%M}"
                )
            )
        return out
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if fmt == "espi":
        default_flow = "forward" if direction == "consumption" else "reverse"
        return parse_espi(data, str(path), tz, flow=flow or default_flow, reading=reading)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError(f"{path}: not UTF-8 text, expected a CSV file") from None
    return parse_csv(text, str(path), tz, column=column, unit=unit, stamp=stamp)
