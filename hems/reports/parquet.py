"""Export to Apache Parquet: the household's data in one tidy table that pandas, DuckDB, Polars, Spark
and R read without knowing hems' storage format.

One row per channel and slot: ``time`` (timestamp, UTC: the slot's start), ``channel`` (e.g.
``grid.p_import_w``), ``unit`` (the channel name's unit suffix: w, a, v, kwh, ...), ``mean``, ``min``,
``max`` (in that unit, with the precision they were stored with) and ``n`` (the samples behind the
slot). The file's metadata records the
resolution and the household's time zone. Written one channel at a time, so memory stays at one
channel's slots even for the raw 10-s samples.

pyarrow is optional (the ``parquet`` extra): the box itself never needs it, and on a Raspberry Pi it
is tens of megabytes; without it, `ParquetUnavailable` says how to get it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hems.reports.summary import StorageReader
from hems.storage.channels import as_stored, unit_of


class ParquetUnavailable(RuntimeError):
    """pyarrow is not installed."""


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ParquetUnavailable(
            "--format parquet needs pyarrow, which this install lacks: pip install 'hems[parquet]' "
            "(or use --format csv)"
        ) from None
    return pa, pq


def export_parquet(
    storage: StorageReader,
    channels: Iterable[str],
    resolution: str,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    path: Path,
) -> int:
    """Write ``channels`` at ``resolution`` for slots starting in [start, end) to ``path``; returns
    the number of rows written."""
    pa, pq = _pyarrow()
    schema = pa.schema(
        [
            ("time", pa.timestamp("s", tz="UTC")),
            ("channel", pa.dictionary(pa.int32(), pa.string())),
            ("unit", pa.dictionary(pa.int8(), pa.string())),
            ("mean", pa.float64()),
            ("min", pa.float64()),
            ("max", pa.float64()),
            ("n", pa.uint32()),
        ],
        metadata={"hems.resolution": resolution, "hems.timezone": str(tz), "hems.format": "tidy/1"},
    )
    rows = 0
    with pq.ParquetWriter(str(path), schema, compression="zstd") as writer:
        for channel in channels:
            points = storage.series(channel, start, end, resolution)
            if not points:
                continue
            k = len(points)
            table = pa.table(
                {
                    "time": pa.array([int(p.time.timestamp()) for p in points], pa.timestamp("s", tz="UTC")),
                    "channel": pa.DictionaryArray.from_arrays(pa.array([0] * k, pa.int32()), [channel]),
                    "unit": pa.DictionaryArray.from_arrays(pa.array([0] * k, pa.int8()), [unit_of(channel)]),
                    "mean": pa.array([as_stored(p.mean, channel) for p in points], pa.float64()),
                    "min": pa.array([as_stored(p.min, channel) for p in points], pa.float64()),
                    "max": pa.array([as_stored(p.max, channel) for p in points], pa.float64()),
                    "n": pa.array([int(p.n) for p in points], pa.uint32()),
                },
                schema=schema,
            )
            writer.write_table(table)
            rows += k
    return rows


__all__ = ["ParquetUnavailable", "export_parquet"]
