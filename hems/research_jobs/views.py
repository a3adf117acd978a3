"""The job's isolated copy: a fresh in-memory SQLite database holding only the views it reads.

Built in the job's worker process from the box's database (opened read-only, closed before the job's
SQL runs) for the job's period and channels only. Each view is a plain table ``_hems_<view>``
behind a view ``<view>`` whose every row read passes `ROW_COUNTER` (the totem's "rows read"); the
job can name only the views (`wire.jobcheck` and the authorizer in `hems.research_jobs.worker`).

Columns (docs/research-jobs.md): series views have one row per closed slot and channel — ``t`` (UTC
start, unix s), the local calendar fields ``local_date year month day weekday hour minute`` (weekday
1 = Monday), ``channel``, and the slot's ``mean min max`` in the channel's unit and ``n`` samples.
``daily`` has one row per local day and channel with ``hours`` (23, 24 or 25) and ``kwh``
(``mean × hours / 1000`` for power channels ``*_w``, else null).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hems.reports.periods import local_midnight
from hems.storage import Storage
from hems.storage.codec import decompress
from hems.storage.rollup import next_slot
from wire.jobs import VIEWS

ROW_COUNTER = "_hems_read"
_SERIES = {"series_15m": "rollup_15m", "series_1h": "rollup_1h", "daily": "rollup_1d"}
_TYPES = {
    "t": "INTEGER", "local_date": "TEXT", "year": "INTEGER", "month": "INTEGER", "day": "INTEGER",
    "weekday": "INTEGER", "hour": "INTEGER", "minute": "INTEGER", "channel": "TEXT", "mean": "REAL",
    "min": "REAL", "max": "REAL", "n": "INTEGER", "hours": "REAL", "kwh": "REAL", "id": "TEXT",
    "line": "TEXT", "breaker_a": "REAL", "curve": "TEXT", "metered": "INTEGER", "kind": "TEXT",
    "circuit": "TEXT", "power_kw": "REAL", "sheddable": "INTEGER", "interruptible": "INTEGER",
    "country": "TEXT", "postcode_prefix": "TEXT", "timezone": "TEXT", "network": "TEXT",
    "main_fuse_a": "REAL",
}  # fmt: skip


def _local_fields(t: int, tz: ZoneInfo) -> tuple[str, int, int, int, int, int, int]:
    local = datetime.fromtimestamp(t, UTC).astimezone(tz)
    return (
        local.date().isoformat(), local.year, local.month, local.day, local.isoweekday(),
        local.hour, local.minute,
    )  # fmt: skip


def _series_rows(
    storage: Storage, table: str, t0: int, t1: int, channels: list[str], daily: bool
) -> Iterator[tuple[Any, ...]]:
    """Rows of a series view from one rollup table: only ``channels``, only slots with samples."""
    tz = storage.timezone
    wanted = set(channels)
    indices: dict[int, list[tuple[int, str]]] = {}
    with storage.lock:
        rows = storage.connection.execute(
            f"SELECT t, layout, data FROM {table} WHERE t >= ? AND t < ? ORDER BY t", (t0, t1)
        ).fetchall()
    for t, layout, blob in rows:
        codec = storage.codec(layout)
        picks = indices.get(layout)
        if picks is None:
            picks = indices[layout] = [(i, c) for i, c in enumerate(codec.channels) if c in wanted]
        if not picks:
            continue
        data = decompress(blob)
        fields = _local_fields(t, tz)
        if daily:
            hours = (next_slot("1d", t, tz) - t) / 3600
        for index, channel in picks:
            stat = codec.stat(data, index)
            if stat is None or stat[3] <= 0:
                continue
            mean, lo, hi, n = stat
            if daily:
                kwh = mean * hours / 1000 if channel.endswith("_w") else None
                yield (*fields[:5], hours, channel, mean, lo, hi, n, kwh)
            else:
                yield (t, *fields, channel, mean, lo, hi, n)


def build_copy(
    storage: Storage,
    views: Iterable[str],
    *,
    start: date,
    end: date,
    channels: list[str],
    facts: dict[str, list[dict[str, Any]]],
    count_row: Callable[[object], int],
) -> sqlite3.Connection:
    """A new in-memory database with ``views`` for local days [start, end) and ``channels`` only.

    ``facts``: rows of the non-series views (``circuits``, ``appliances``, ``site``), already
    reduced to their documented columns. ``count_row`` is called for every row a query reads.
    """
    tz = storage.timezone
    t0, t1 = int(local_midnight(start, tz).timestamp()), int(local_midnight(end, tz).timestamp())
    copy = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    copy.create_function(ROW_COUNTER, 1, count_row, deterministic=False)
    for view in sorted(set(views)):
        columns = VIEWS[view]
        base = f"_hems_{view}"
        copy.execute(f"CREATE TABLE {base} ({', '.join(f'{c} {_TYPES[c]}' for c in columns)})")
        insert = f"INSERT INTO {base} VALUES ({', '.join('?' for _ in columns)})"
        if view in _SERIES:
            rows: Iterable[tuple[Any, ...]] = _series_rows(
                storage, _SERIES[view], t0, t1, channels, view == "daily"
            )
        else:
            rows = (tuple(row.get(c) for c in columns) for row in facts.get(view, []))
        copy.execute("BEGIN")
        copy.executemany(insert, rows)
        copy.execute("COMMIT")
        copy.execute(
            f"CREATE VIEW {view} AS SELECT {', '.join(columns)} FROM {base} WHERE {ROW_COUNTER}({base}.rowid)"
        )
    return copy
