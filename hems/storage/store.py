"""`Storage`: the database the daemon writes and reports, the dashboard and telemetry read.

Reading: `series(channel, start, end, resolution)` returns `Point`s whose ``time`` is the UTC start of
the slot and whose values are in the channel's unit (power channels in W: a slot's energy in kWh is
``mean * slot_hours / 1000``). A rollup slot that is still open (the current minute, hour or day) has no
row yet; `series` completes the tail from the next finer resolution, so readers always see the newest
data. Writing goes through `hems.storage.writer.SampleWriter`, which batches.

Other parts keep small JSON documents (`put_doc`/`get_doc`: the plan, the meter id), a log of events
(`log_event`/`events`: alerts, actions) and may create their own tables on `connection`.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from hems.storage.codec import RowCodec, decompress, unpack_batch
from hems.storage.rollup import RESOLUTIONS, ROLLUPS, next_slot, slot_start
from hems.storage.schema import connect

_FINER = {"1m": "raw", "15m": "1m", "1h": "15m", "1d": "1h"}


class Point(NamedTuple):
    """One value of a series: slot start (UTC), mean/min/max in the channel's unit, sample count."""

    time: datetime
    mean: float
    min: float
    max: float
    n: int


@dataclass(frozen=True, slots=True)
class Event:
    time: datetime
    kind: str
    level: str
    message: str
    data: dict[str, Any]


def to_unix(t: datetime) -> int:
    if t.tzinfo is None:
        raise ValueError("storage times must be timezone-aware")
    return int(t.timestamp())


def from_unix(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _table(resolution: str) -> str:
    if resolution not in RESOLUTIONS:
        raise ValueError(f"unknown resolution {resolution!r}; expected one of {', '.join(RESOLUTIONS)}")
    return "sample" if resolution == "raw" else f"rollup_{resolution}"


class Storage:
    """A hems SQLite database (WAL). Safe to share between threads of one process (one lock)."""

    def __init__(self, connection: sqlite3.Connection, path: Path, *, readonly: bool) -> None:
        self.connection = connection
        self.path = path
        self.readonly = readonly
        self.lock = threading.RLock()
        self._codecs: dict[int, RowCodec] = {}
        self._tz: ZoneInfo | None = None

    @classmethod
    def open(cls, path: str | Path, *, readonly: bool = False, timezone: str | None = None) -> Storage:
        """Open (or create) the database at ``path``. The household's ``timezone`` (for the daily
        rollup) is recorded at creation; later opens use the recorded one."""
        p = Path(path)
        st = cls(connect(p, readonly=readonly), p, readonly=readonly)
        if not readonly and timezone:
            st.connection.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('timezone', ?)", (timezone,)
            )
        return st

    def close(self) -> None:
        with self.lock:
            self.connection.close()

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- metadata -------------------------------------------------------------------------------
    @property
    def timezone(self) -> ZoneInfo:
        if self._tz is None:
            row = self.connection.execute("SELECT value FROM meta WHERE key = 'timezone'").fetchone()
            self._tz = ZoneInfo(row[0] if row else "Europe/Oslo")
        return self._tz

    @property
    def simulated(self) -> str | None:
        """What simulated this database's data (``hems demo``, ``hems evaluate``), or None for a
        household's own: tools that send data away refuse a simulated one unless told."""
        with self.lock:
            row = self.connection.execute("SELECT value FROM meta WHERE key = 'simulated'").fetchone()
        return row[0] if row else None

    def mark_simulated(self, what: str) -> None:
        """Record that this database holds simulated data (``what`` made it); kept for good."""
        with self.lock:
            self.connection.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('simulated', ?)", (what,)
            )

    def codec(self, layout_id: int) -> RowCodec:
        """The codec of a layout (its channel names and their number formats)."""
        cached = self._codecs.get(layout_id)
        if cached is None:
            with self.lock:
                row = self.connection.execute(
                    "SELECT channels FROM layout WHERE id = ?", (layout_id,)
                ).fetchone()
            if row is None:
                return RowCodec(())  # missing (an older writer's damage): its rows read as empty;
                # not cached, as a writer may still store it
            cached = RowCodec(json.loads(row[0]))
            self._codecs[layout_id] = cached
        return cached

    def channels(self) -> list[str]:
        """Every channel name ever stored, sorted."""
        with self.lock:
            rows = self.connection.execute("SELECT channels FROM layout").fetchall()
        names: set[str] = set()
        for (channels,) in rows:
            names.update(json.loads(channels))
        return sorted(names)

    def first_time(self) -> datetime | None:
        with self.lock:
            row = self.connection.execute("SELECT MIN(t) FROM sample").fetchone()
        return from_unix(row[0]) if row and row[0] is not None else None

    def last_time(self) -> datetime | None:
        """Time of the newest stored cycle (UTC), or None for an empty database."""
        with self.lock:
            row = self.connection.execute("SELECT t_last FROM sample ORDER BY t DESC LIMIT 1").fetchone()
        return from_unix(row[0]) if row and row[0] is not None else None

    # ----- series ---------------------------------------------------------------------------------
    def series(self, channel: str, start: datetime, end: datetime, resolution: str = "raw") -> list[Point]:
        """Values of ``channel`` for slots starting in [start, end), oldest first. Slots without a
        value of this channel are left out (a gap, not a zero)."""
        t0, t1 = to_unix(start), to_unix(end)
        points = self._stored(channel, t0, t1, resolution)
        if resolution == "raw":
            return points
        # complete the open tail (slots with no row yet) from the next finer resolution
        tail_from = t0 if not points else next_slot(resolution, to_unix(points[-1].time), self.timezone)
        if tail_from < t1:
            points += self._aggregate(channel, tail_from, t1, resolution)
        return points

    def _stored(self, channel: str, t0: int, t1: int, resolution: str) -> list[Point]:
        if resolution == "raw":
            return self._raw(channel, t0, t1)
        with self.lock:
            rows = self.connection.execute(
                f"SELECT t, layout, data FROM {_table(resolution)} WHERE t >= ? AND t < ? ORDER BY t",
                (t0, t1),
            ).fetchall()
        out: list[Point] = []
        for t, layout_id, blob in rows:
            codec = self.codec(layout_id)
            index = codec.index(channel)
            if index is None:
                continue
            stat = codec.stat(decompress(blob), index)
            if stat is not None and stat[3] > 0:
                out.append(Point(from_unix(t), stat[0], stat[1], stat[2], stat[3]))
        return out

    def _raw(self, channel: str, t0: int, t1: int) -> list[Point]:
        out: list[Point] = []
        for t, layout_id, payload in self.raw_rows(t0, t1):
            codec = self.codec(layout_id)
            index = codec.index(channel)
            if index is None:
                continue
            v = codec.value(payload, index)
            if not math.isnan(v):
                out.append(Point(from_unix(t), v, v, v, 1))
        return out

    def raw_rows(self, t0: int, t1: int) -> list[tuple[int, int, bytes]]:
        """Every stored cycle with ``t0 <= t < t1``: ``(t [unix s], layout id, packed values)``."""
        return [
            (t, layout_id, payload)
            for first, layout_id, blob in self._batches("sample", "layout", t0, t1)
            for t, payload in unpack_batch(first, blob)
            if t0 <= t < t1
        ]

    def _batches(self, table: str, column: str, t0: int, t1: int) -> list[tuple[int, Any, bytes]]:
        """Rows ``(t, column, data)`` of a batched table whose batch overlaps [t0, t1): from the batch
        holding ``t0`` (it may start before) to the last one starting before ``t1``."""
        with self.lock:
            return self.connection.execute(
                f"SELECT t, {column}, data FROM {table} WHERE t >= "
                f"COALESCE((SELECT MAX(t) FROM {table} WHERE t <= ?), 0) AND t < ? AND t_last >= ? "
                "ORDER BY t",
                (t0, t1, t0),
            ).fetchall()

    def _aggregate(self, channel: str, t0: int, t1: int, resolution: str) -> list[Point]:
        """Aggregate the finer resolution into slots of ``resolution`` (for the open tail), weighting
        by sample count so a slot's mean equals the mean of its raw samples."""
        out: list[Point] = []
        current: int | None = None
        total, n, lo, hi = 0.0, 0, math.inf, -math.inf
        for p in self.series(channel, from_unix(t0), from_unix(t1), _FINER[resolution]):
            start = slot_start(resolution, to_unix(p.time), self.timezone)
            if start != current:
                if current is not None and n:
                    out.append(Point(from_unix(current), total / n, lo, hi, n))
                current, total, n, lo, hi = start, 0.0, 0, math.inf, -math.inf
            total += p.mean * p.n
            n += p.n
            lo, hi = min(lo, p.min), max(hi, p.max)
        if current is not None and n:
            out.append(Point(from_unix(current), total / n, lo, hi, n))
        return out

    # ----- frames, events, documents --------------------------------------------------------------
    def frames(self, start: datetime, end: datetime) -> list[tuple[datetime, bytes]]:
        """Raw meter frames received in [start, end), with their reception times (UTC)."""
        t0, t1 = round(start.timestamp() * 1000), round(end.timestamp() * 1000)
        return [
            (datetime.fromtimestamp(t / 1000, UTC), frame)
            for first, _, blob in self._batches("frame", "n", t0, t1)
            for t, frame in unpack_batch(first, blob)
            if t0 <= t < t1
        ]

    def log_event(
        self, time: datetime, kind: str, level: str, message: str, data: dict[str, Any] | None = None
    ) -> None:
        """Record an event (an alert, an action the box took); written at once (events are rare)."""
        with self.lock:
            self.connection.execute(
                "INSERT INTO event (t, kind, level, message, data) VALUES (?, ?, ?, ?, ?)",
                (to_unix(time), kind, level, message, json.dumps(data or {}, default=str)),
            )

    def events(self, start: datetime, end: datetime, kind: str | None = None) -> list[Event]:
        sql = "SELECT t, kind, level, message, data FROM event WHERE t >= ? AND t < ?"
        args: list[Any] = [to_unix(start), to_unix(end)]
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        with self.lock:
            rows = self.connection.execute(sql + " ORDER BY t, id", args).fetchall()
        return [Event(from_unix(t), k, lvl, msg, json.loads(d)) for t, k, lvl, msg, d in rows]

    def put_doc(self, key: str, obj: Any, time: datetime | None = None) -> None:
        """Store a small JSON document under ``key`` (replacing the previous one)."""
        t = to_unix(time) if time else 0
        with self.lock:
            self.connection.execute(
                "INSERT OR REPLACE INTO doc (key, t, body) VALUES (?, ?, ?)",
                (key, t, json.dumps(obj, default=str)),
            )

    def get_doc(self, key: str) -> Any:
        with self.lock:
            row = self.connection.execute("SELECT body FROM doc WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    # ----- maintenance ----------------------------------------------------------------------------
    def integrity_ok(self) -> bool:
        with self.lock:
            return self.connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


__all__ = ["ROLLUPS", "Event", "Point", "Storage", "from_unix", "to_unix"]
