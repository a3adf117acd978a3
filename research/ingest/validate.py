"""A received telemetry batch → `StoredBatch`, or a `WireError` naming the field and the reason.

The checks are the wire format's one definition (`wire/telemetry.py`), the same the box runs before
it queues a batch: a batch with an unknown key, a full postcode, a cumulative register, a
meter-id-like string, a value outside physical ranges or slots that do not match its day is
refused whole, and box and server never disagree about what a batch may hold.
"""

from __future__ import annotations

from typing import Any

from research.store.tables import StoredBatch
from wire.telemetry import SCHEMA
from wire.telemetry import parse_batch as parse_wire_batch

__all__ = ["SCHEMA", "parse_batch"]


def parse_batch(doc: Any) -> StoredBatch:
    batch = parse_wire_batch(doc)
    return StoredBatch(
        batch_id=batch.batch_id,
        household_id=batch.household_id,
        day=batch.day,
        site=batch.site,
        start=batch.start,
        end=batch.end,
        resolution_s=batch.resolution_s,
        readings=batch.readings,
        summary=batch.summary,
        software=batch.software,
        simulated=batch.simulated,
    )
