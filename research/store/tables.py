"""A received batch as the store keeps it, and its two Arrow tables (``readings``, ``batches``).

Nothing is altered on the way: each value is stored as received (``null`` stays null), the summary
as the JSON text the box sent. Conformity flags (research.conformity) sit beside the data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa

READINGS_SCHEMA = pa.schema(
    [
        ("household_id", pa.string()),
        ("day", pa.date32()),
        ("channel", pa.string()),
        ("slot", pa.int32()),
        ("ts", pa.timestamp("ms", tz="UTC")),  #: slot start [UTC]
        ("value", pa.float64()),  #: in the channel's unit (its name's suffix: _w, _v, _a)
        ("resolution_s", pa.int32()),  #: slot length [s]
    ]
)

BATCHES_SCHEMA = pa.schema(
    [
        ("household_id", pa.string()),
        ("batch_id", pa.string()),
        ("day", pa.date32()),
        ("postcode_prefix", pa.string()),  #: as received; released views generalise it
        ("country", pa.string()),
        ("timezone", pa.string()),
        ("network", pa.string()),
        ("main_fuse_a", pa.float64()),
        ("heating", pa.string()),  #: heat_pump, electric_direct, district, other; null: not sent
        ("pv", pa.bool_()),  #: the home has PV; null: not sent (boxes before issue 18)
        ("ev", pa.bool_()),  #: the home charges an EV; null: not sent
        ("interval_start", pa.timestamp("ms", tz="UTC")),
        ("interval_end", pa.timestamp("ms", tz="UTC")),
        ("resolution_s", pa.int32()),
        ("slots", pa.int32()),
        ("channels", pa.list_(pa.string())),
        ("software", pa.string()),
        ("simulated", pa.bool_()),
        ("received_at", pa.timestamp("ms", tz="UTC")),
        ("summary", pa.string()),  #: the day's report as received (JSON text)
        ("quality_ok", pa.bool_()),  #: no conformity flag raised
        ("flags", pa.list_(pa.string())),  #: names of the conformity flags raised
        ("quality", pa.string()),  #: the flags' details (JSON text)
    ]
)


@dataclass(frozen=True)
class StoredBatch:
    """One day of one household, validated, ready to store."""

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


def readings_table(batch: StoredBatch) -> pa.Table:
    """One row per channel and slot (channels in name order); whole columns built by Arrow."""
    n = batch.slots
    channels = sorted(batch.readings)
    rows = n * len(channels)
    start_ms = int(batch.start.timestamp() * 1000)
    slot = np.tile(np.arange(n, dtype=np.int32), len(channels))
    ts = start_ms + slot.astype(np.int64) * batch.resolution_s * 1000
    # None becomes NaN on the way into numpy and a null again through the mask (a received value
    # is always finite: wire/telemetry.py refuses NaN and infinities)
    values = np.concatenate([np.array(batch.readings[c], dtype=np.float64) for c in channels])
    which = np.repeat(np.arange(len(channels), dtype=np.int32), n)
    return pa.table(
        [
            pa.repeat(pa.scalar(batch.household_id, pa.string()), rows),
            pa.repeat(pa.scalar(batch.day, pa.date32()), rows),
            pa.array(channels, pa.string()).take(pa.array(which)),
            pa.array(slot, pa.int32()),
            pa.array(ts, pa.timestamp("ms", tz="UTC")),
            pa.array(values, pa.float64(), mask=np.isnan(values)),
            pa.repeat(pa.scalar(batch.resolution_s, pa.int32()), rows),
        ],
        schema=READINGS_SCHEMA,
    )


def batches_table(batch: StoredBatch, received_at: datetime, quality: dict[str, Any]) -> pa.Table:
    site = batch.site
    row = {
        "household_id": batch.household_id,
        "batch_id": batch.batch_id,
        "day": batch.day,
        "postcode_prefix": site.get("postcode_prefix"),
        "country": site.get("country"),
        "timezone": site.get("timezone"),
        "network": site.get("network"),
        "main_fuse_a": site.get("main_fuse_a"),
        "heating": site.get("heating"),
        "pv": site.get("pv"),
        "ev": site.get("ev"),
        "interval_start": batch.start,
        "interval_end": batch.end,
        "resolution_s": batch.resolution_s,
        "slots": batch.slots,
        "channels": sorted(batch.readings),
        "software": batch.software,
        "simulated": batch.simulated,
        "received_at": received_at,
        "summary": json.dumps(batch.summary, sort_keys=True, separators=(",", ":")),
        "quality_ok": not quality,
        "flags": sorted(quality),
        "quality": json.dumps(quality, sort_keys=True, separators=(",", ":")),
    }
    return pa.Table.from_pylist([row], schema=BATCHES_SCHEMA)
