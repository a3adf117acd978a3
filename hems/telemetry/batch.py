"""One day's telemetry batch: de-identified readings and the daily summary, as gzip'd JSON.

A batch is a pure function of the stored data, the household's pseudonymous id, the de-identified
`SiteFacts` and the [telemetry] section, so rebuilding a day gives the same bytes and the same
idempotent ``batch_id`` (``<household id>/<local date>``). What a batch holds is listed field by
field in docs/telemetry.md.
"""

from __future__ import annotations

import gzip
import json
import math
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hems import __version__
from hems.reports.periods import local_midnight
from hems.reports.summary import StorageReader, build_report
from hems.telemetry.config import RAW_SECONDS, TelemetryConfig
from hems.telemetry.privacy import SiteFacts, channel_allowed

SCHEMA = "hems-telemetry/1"

#: Parts of the daily report that go into a batch (the report holds nothing identifying; this list
#: keeps the batch small and its content deliberate).
SUMMARY_KEYS = (
    "coverage",
    "house",
    "peak_hours",
    "capacity_basis_kw",
    "circuits",
    "other",
    "appliances",
    "cost",
)


def batch_id(household_id: str, day: date) -> str:
    return f"{household_id}/{day.isoformat()}"


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC instants of local midnight starting and ending ``day`` (23, 24 or 25 h apart)."""
    return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)


def _source_resolution(minutes: int) -> str:
    if minutes % 60 == 0:
        return "1h"
    if minutes % 15 == 0:
        return "15m"
    return "1m"


def slot_means(
    points: Any, start: datetime, end: datetime, minutes: float, digits: int = 1
) -> list[float | None]:
    """Sample-weighted means of ``points`` in slots of ``minutes`` from ``start`` to ``end``.

    A slot no point falls into is ``None`` (missing, not zero). Values rounded to ``digits``
    decimals of the unit (0.1 W, 0.1 V; currents get 2).
    """
    step = timedelta(minutes=minutes)
    count = math.ceil((end - start) / step)
    sums = [0.0] * count
    weights = [0] * count
    for p in points:
        i = int((p.time - start) / step)
        if 0 <= i < count and math.isfinite(p.mean):  # a non-finite value is not a measurement
            w = max(int(p.n), 1)
            sums[i] += p.mean * w
            weights[i] += w
    return [round(s / w, digits) if w else None for s, w in zip(sums, weights, strict=True)]


def _digits(channel: str) -> int:
    return 2 if channel.endswith("_a") else 1


def build_batch(
    storage: StorageReader,
    day: date,
    *,
    household_id: str,
    site: SiteFacts,
    config: TelemetryConfig,
    tariff: Any = None,
    simulated: bool = False,
) -> dict[str, Any]:
    """The batch for local ``day``: every allowed channel at ``config.resolution_minutes``;
    ``simulated``: the data is the digital twin's (the batch says so: ``"simulated": true``)."""
    tz = ZoneInfo(site.timezone)
    start, end = day_bounds(day, tz)
    raw = config.resolution == "raw"
    minutes = RAW_SECONDS / 60 if raw else config.resolution_minutes
    source = "raw" if raw else _source_resolution(config.resolution_minutes)
    readings: dict[str, list[float | None]] = {}
    for channel in storage.channels():
        if channel_allowed(channel, config.channels):
            points = storage.series(channel, start, end, source)
            values = slot_means(points, start, end, minutes, _digits(channel))
            if any(v is not None for v in values):
                readings[channel] = values
    resolution: dict[str, int] = (
        {"resolution_seconds": RAW_SECONDS} if raw else {"resolution_minutes": config.resolution_minutes}
    )
    report = build_report(storage, "day", day, tz, tariff=tariff).to_dict()
    batch: dict[str, Any] = {
        "schema": SCHEMA,
        "batch_id": batch_id(household_id, day),
        "household_id": household_id,
        "day": day.isoformat(),
        "site": site.to_dict(),
        "interval": {
            "start": start.astimezone(UTC).isoformat(),
            "end": end.astimezone(UTC).isoformat(),
            **resolution,
            "slots": math.ceil((end - start) / timedelta(minutes=minutes)),
        },
        "readings": readings,
        "summary": {key: report[key] for key in SUMMARY_KEYS if key in report},
        "software": f"hems {__version__}",
    }
    if simulated:
        batch["simulated"] = True
    return batch


def encode(document: dict[str, Any]) -> bytes:
    """Compact JSON, gzip'd with a fixed header (mtime 0) so the same batch gives the same bytes."""
    raw = json.dumps(document, separators=(",", ":"), sort_keys=True, allow_nan=False).encode("utf-8")
    return gzip.compress(raw, compresslevel=9, mtime=0)


def decode(body: bytes) -> dict[str, Any]:
    """The JSON document of a gzip'd body (for previews and tests)."""
    data = json.loads(gzip.decompress(body).decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("telemetry body is not a JSON object")
    return data
