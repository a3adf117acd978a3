"""The telemetry batch (``hems-telemetry/1``), defined once: the box checks every batch with it
before queueing, the research server checks every batch on arrival (docs/telemetry.md).

`parse_batch(doc)` → `TelemetryBatch`, or a `WireError` naming the field and the reason. Strict,
as defence in depth behind the box's own de-identification: a batch with an unknown key, a full
postcode, a cumulative register, a meter-id-like string, a value outside physical ranges or slots
that do not match its day (92/96/100 quarter-hours, 8280/8640/9000 10-s slots on DST days) is
refused whole. Standard library only.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wire.errors import WireError
from wire.fields import day as read_day
from wire.fields import instant, need

SCHEMA = "hems-telemetry/1"
TOP_KEYS = {
    "schema",
    "batch_id",
    "household_id",
    "day",
    "site",
    "interval",
    "readings",
    "summary",
    "software",
}
OPTIONAL_KEYS = {"simulated"}
SITE_KEYS = {"postcode_prefix", "country", "timezone", "network", "main_fuse_a"}
#: optional site facts (boxes before issue 18 do not send them): what groups similar homes
OPTIONAL_SITE_KEYS = {"heating", "pv", "ev"}
#: ``site.heating``: how the home is mainly heated
HEATING = ("heat_pump", "electric_direct", "district", "other")
_HOUSEHOLD = re.compile(r"^h-[a-z2-7]{26}$")
_PREFIX = re.compile(r"^[0-9A-Z]{3}x$")
_CHANNEL = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*\.[a-z0-9_]+$")
_METER_ID_LIKE = re.compile(r"\d{8,}")
#: physical ranges by unit suffix: a household's supply cannot go beyond these
RANGES = {"_w": (-1_000_000.0, 1_000_000.0), "_v": (0.0, 1000.0), "_a": (-2000.0, 2000.0)}


@dataclass(frozen=True)
class TelemetryBatch:
    """One day of one household, checked field by field."""

    batch_id: str
    household_id: str
    day: date
    site: dict[str, Any]  #: postcode_prefix, country, timezone, network, main_fuse_a (+ heating, pv, ev)
    start: datetime  #: UTC start of the local day
    end: datetime
    resolution_s: int  #: slot length [s]
    readings: dict[str, list[float | None]]  #: channel → one value per slot
    summary: dict[str, Any]
    software: str
    simulated: bool = False

    @property
    def slots(self) -> int:
        return round((self.end - self.start).total_seconds() / self.resolution_s)


def parse_batch(doc: Any) -> TelemetryBatch:
    if not isinstance(doc, dict):
        raise WireError("batch: expected a JSON object")
    unknown = set(doc) - TOP_KEYS - OPTIONAL_KEYS
    if unknown:
        raise WireError(f"batch: unknown key(s) {', '.join(sorted(unknown))}")
    if need(doc, "schema", str, "batch") != SCHEMA:
        raise WireError(f"batch.schema: expected {SCHEMA!r}, got {doc['schema']!r}")
    household = need(doc, "household_id", str, "batch")
    if not _HOUSEHOLD.match(household):
        raise WireError("batch.household_id: expected 'h-' and 26 base32 characters")
    day = read_day(need(doc, "day", str, "batch"), "batch.day")
    if need(doc, "batch_id", str, "batch") != f"{household}/{day.isoformat()}":
        raise WireError("batch.batch_id: expected '<household_id>/<day>'")
    site = _site(need(doc, "site", dict, "batch"))
    start, end, resolution_s = _interval(need(doc, "interval", dict, "batch"), day, site["timezone"])
    slots = round((end - start).total_seconds() / resolution_s)
    readings = _readings(need(doc, "readings", dict, "batch"), slots)
    summary = need(doc, "summary", dict, "batch")
    _no_identifiers(summary, "batch.summary")
    software = need(doc, "software", str, "batch")
    _no_identifiers(software, "batch.software")
    simulated = doc.get("simulated", False)
    if simulated is not True and "simulated" in doc:
        raise WireError("batch.simulated: expected true or absent")
    return TelemetryBatch(
        batch_id=doc["batch_id"],
        household_id=household,
        day=day,
        site=site,
        start=start,
        end=end,
        resolution_s=resolution_s,
        readings=readings,
        summary=summary,
        software=software,
        simulated=bool(simulated),
    )


def _site(site: dict[str, Any]) -> dict[str, Any]:
    unknown = set(site) - SITE_KEYS - OPTIONAL_SITE_KEYS
    if unknown:
        raise WireError(f"batch.site: unknown key(s) {', '.join(sorted(unknown))}")
    prefix = site.get("postcode_prefix")
    if prefix is not None and (not isinstance(prefix, str) or not _PREFIX.match(prefix)):
        raise WireError(
            f"batch.site.postcode_prefix: expected three characters and 'x' (e.g. '108x'), got {prefix!r}"
        )
    need(site, "country", str, "batch.site")
    if not re.fullmatch(r"[A-Z]{2}", site["country"]):
        raise WireError(f"batch.site.country: expected an ISO 3166 alpha-2 code, got {site['country']!r}")
    try:
        ZoneInfo(need(site, "timezone", str, "batch.site"))
    except (ZoneInfoNotFoundError, ValueError):
        raise WireError(f"batch.site.timezone: unknown time zone {site['timezone']!r}") from None
    if need(site, "network", str, "batch.site") not in ("TN", "IT", "1P"):
        raise WireError(f"batch.site.network: expected TN, IT or 1P, got {site['network']!r}")
    fuse = need(site, "main_fuse_a", (int, float), "batch.site")
    if not 1 <= fuse <= 1000:
        raise WireError(f"batch.site.main_fuse_a: expected 1 to 1000 A, got {fuse!r}")
    if "heating" in site and site["heating"] not in HEATING:
        raise WireError(f"batch.site.heating: expected one of {', '.join(HEATING)}, got {site['heating']!r}")
    for key in ("pv", "ev"):
        if key in site and not isinstance(site[key], bool):
            raise WireError(f"batch.site.{key}: expected true or false, got {site[key]!r}")
    return dict(site)


def _interval(interval: dict[str, Any], day: date, tz_name: str) -> tuple[datetime, datetime, int]:
    tz = ZoneInfo(tz_name)
    start = instant(need(interval, "start", str, "batch.interval"), "batch.interval.start")
    end = instant(need(interval, "end", str, "batch.interval"), "batch.interval.end")
    first = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    nxt = day + timedelta(days=1)
    last = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(UTC)
    if start != first or end != last:
        raise WireError(
            f"batch.interval: expected {first.isoformat()} to {last.isoformat()} (the local day {day}), "
            f"got {start.isoformat()} to {end.isoformat()}"
        )
    if "resolution_seconds" in interval:
        resolution_s = need(interval, "resolution_seconds", int, "batch.interval")
    else:
        resolution_s = need(interval, "resolution_minutes", int, "batch.interval") * 60
    seconds = int((end - start).total_seconds())
    if resolution_s < 1 or seconds % resolution_s:
        raise WireError(f"batch.interval: a resolution of {resolution_s} s does not divide the day")
    slots = need(interval, "slots", int, "batch.interval")
    if slots != seconds // resolution_s:
        raise WireError(f"batch.interval.slots: expected {seconds // resolution_s} for {day}, got {slots}")
    return start.astimezone(UTC), end.astimezone(UTC), resolution_s


def _readings(readings: dict[str, Any], slots: int) -> dict[str, list[float | None]]:
    out: dict[str, list[float | None]] = {}
    for channel, values in readings.items():
        where = f"batch.readings.{channel}"
        if not _CHANNEL.match(channel) or _METER_ID_LIKE.search(channel):
            raise WireError(f"{where}: not a channel name")
        if re.search(r"\.e_[a-z_]*kwh$", channel):
            raise WireError(f"{where}: a cumulative energy register is never accepted")
        unit = next((u for u in RANGES if channel.endswith(u)), None)
        if unit is None:
            raise WireError(f"{where}: unknown unit (expected a name ending in _w, _v or _a)")
        if not isinstance(values, list) or len(values) != slots:
            raise WireError(f"{where}: expected a list of {slots} values (one per slot)")
        low, high = RANGES[unit]
        fast = _fast_values(values, low, high)
        if fast is not None:
            out[channel] = fast
            continue
        for i, v in enumerate(values):  # something is wrong: find the first bad value and say it
            if v is None:
                continue
            bad_float = isinstance(v, float) and not math.isfinite(v)  # an int is finite, however large
            if isinstance(v, bool) or not isinstance(v, int | float) or bad_float:
                raise WireError(f"{where}[{i}]: expected a number or null, got {v!r}")
            if not low <= v <= high:
                raise WireError(f"{where}[{i}]: {v} is outside the physical range {low} to {high}")
        out[channel] = [None if v is None else float(v) for v in values]
    return out


_NUMBER_KINDS = {float, int, type(None)}


def _fast_values(values: list[Any], low: float, high: float) -> list[float | None] | None:
    """The values as floats when every one is a finite number in [low, high] or null; None when
    any is not (the caller then finds which). Built-ins over the whole list, not a loop per value:
    a raw day is 8 640 values per channel."""
    kinds = set(map(type, values))
    if not kinds <= _NUMBER_KINDS:
        return None  # a string, a bool, a list ...
    numbers = [v for v in values if v is not None] if type(None) in kinds else values
    if not numbers:
        return list(values)
    if min(numbers) < low or max(numbers) > high:
        return None
    try:  # NaN or an infinity anywhere (in range, the sum stays finite); NaN fools min and max
        if not math.isfinite(sum(numbers)):
            return None
    except OverflowError:  # beside a NaN, an integer too large for a float got past min and max
        return None
    if int in kinds:
        return [None if v is None else float(v) for v in values]
    return list(values)


def _no_identifiers(value: Any, where: str) -> None:
    """Refuse strings that look like a meter id (8+ digits) or a full postcode anywhere inside."""
    if isinstance(value, str):
        if _METER_ID_LIKE.search(value) or re.fullmatch(r"\d{4,5}", value.strip()):
            raise WireError(f"{where}: {value!r} looks like a meter id or a postcode")
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_identifiers(str(key), f"{where}.{key}")
            _no_identifiers(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _no_identifiers(item, f"{where}[{i}]")


DELETION_SCHEMA = "hems-deletion/1"


def parse_deletion(doc: Any, now: datetime) -> str:
    """The household id of a deletion request (``hems-deletion/1``: ``household_id`` and a past
    ``requested_at`` with its offset), or a `WireError` naming what is wrong."""
    if not isinstance(doc, dict) or doc.get("schema") != DELETION_SCHEMA:
        raise WireError(f"deletion: expected a {DELETION_SCHEMA!r} document")
    unknown = set(doc) - {"schema", "household_id", "requested_at"}
    if unknown:
        raise WireError(f"deletion: unknown key(s) {', '.join(sorted(unknown))}")
    household_id = need(doc, "household_id", str, "deletion")
    if not _HOUSEHOLD.match(household_id):
        raise WireError("deletion.household_id: expected 'h-' and 26 base32 characters")
    requested = instant(need(doc, "requested_at", str, "deletion"), "deletion.requested_at")
    if requested > now + timedelta(days=1):
        raise WireError("deletion.requested_at: expected a past ISO-8601 time with its offset")
    return household_id
