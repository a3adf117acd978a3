"""Batched writing of cycles, with rollups maintained incrementally.

Every cycle is buffered; the buffer is committed in ONE transaction when ``batch_seconds`` of wall time
have passed or ``batch_cycles`` cycles are waiting (and at once for the very first cycle, so a reader
sees data quickly). Rollup rows (1 min, 15 min, 1 h, local day) are written when their slot closes; an
open slot lives in memory and, after a restart, is rebuilt from the raw samples already on disk.
A crash loses at most the uncommitted batch; a clean `close()` flushes.
"""

from __future__ import annotations

import json
import logging
import math
import time as _time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from devices.limits import plausible_values
from hems.storage.codec import RowCodec, compress, pack_batch
from hems.storage.rollup import ROLLUPS, Accumulator, slot_start
from hems.storage.store import Storage, from_unix, to_unix

log = logging.getLogger(__name__)

DAY_S = 86400


@dataclass(frozen=True)
class WriterSettings:
    batch_seconds: float = 60.0
    batch_cycles: int = 60
    raw_days: int = 14
    frame_days: int = 7
    frame_max_rows: int = 200_000
    minute_days: int = 90
    quarter_days: int = 3 * 366
    hour_days: int = 10 * 366
    event_days: int = 2 * 366
    event_max_rows: int = 100_000

    @classmethod
    def from_config(cls, cfg: object) -> WriterSettings:
        return cls(**{name: getattr(cfg, name) for name in cls.__dataclass_fields__})


class SampleWriter:
    def __init__(
        self,
        storage: Storage,
        settings: WriterSettings | None = None,
        wall: Callable[[], float] = _time.monotonic,
    ) -> None:
        if storage.readonly:
            raise ValueError("SampleWriter needs a writable Storage")
        self.st = storage
        self.settings = settings or WriterSettings()
        self._wall = wall
        self._tz = storage.timezone
        self._channels: list[str] = []
        self._index: dict[str, int] = {}
        self._layout_id = 0
        self._codec = RowCodec(())
        self.implausible: dict[str, int] = {}  #: channel -> values refused as no meter's reading
        self._pending_layouts: list[tuple[int, str]] = []  # stored with the samples that use them
        self._pending_samples: list[tuple[int, int, bytes]] = []
        self._pending_rollups: list[tuple[str, int, int, bytes]] = []
        self._pending_frames: list[tuple[int, bytes]] = []
        self._acc: dict[str, Accumulator] = {}
        self._last_t: int | None = None
        self._last_flush = wall()
        self._flushed_once = False
        self._last_retention: int | None = None
        self._resume()

    # ----- resume ---------------------------------------------------------------------------------
    def _resume(self) -> None:
        conn = self.st.connection
        row = conn.execute("SELECT id, channels FROM layout ORDER BY id DESC LIMIT 1").fetchone()
        if row:
            self._layout_id = row[0]
            self._channels = list(json.loads(row[1]))
            self._index = {c: i for i, c in enumerate(self._channels)}
            self._codec = RowCodec(self._channels)
        # a database damaged by an older writer may hold rows naming a layout it never stored: a new
        # layout must not take such an id, or it would relabel those rows
        self._layout_id = max([self._layout_id, *self._referenced_layouts()])
        row = conn.execute("SELECT t_last FROM sample ORDER BY t DESC LIMIT 1").fetchone()
        if row is None:
            return
        last = row[0]
        self._last_t = last
        # rebuild the open slot of every rollup from the raw samples on disk
        day_start = slot_start("1d", last, self._tz)
        starts = {res: slot_start(res, last, self._tz) for res in ROLLUPS}
        self._acc = {res: Accumulator(s) for res, s in starts.items()}
        for t, layout_id, blob in self.st.raw_rows(day_start, last + 1):
            values = self._remap(layout_id, blob)
            for acc in self._acc.values():
                if t >= acc.start:
                    acc.add(values)

    def _referenced_layouts(self) -> list[int]:
        conn = self.st.connection
        tables = ["sample", *(f"rollup_{res}" for res in ROLLUPS)]
        return [conn.execute(f"SELECT COALESCE(MAX(layout), 0) FROM {t}").fetchone()[0] for t in tables]

    def _remap(self, layout_id: int, blob: bytes) -> list[float]:
        values = [math.nan] * len(self._channels)
        codec = self.st.codec(layout_id)
        if codec.size != len(blob):
            return values  # a row whose layout is missing: nothing of it can be read
        channels = codec.channels
        raw = codec.unpack_values(blob)
        for name, v in zip(channels, raw, strict=False):
            i = self._index.get(name)
            if i is not None:
                values[i] = v
        return values

    @property
    def waiting(self) -> int:
        """Cycles buffered, not yet in the database (a full disk makes them wait)."""
        return len(self._pending_samples)

    @property
    def last_time(self) -> datetime | None:
        return from_unix(self._last_t) if self._last_t is not None else None

    # ----- adding ---------------------------------------------------------------------------------
    def add(
        self,
        time: datetime,
        values: Mapping[str, float],
        frames: Sequence[tuple[datetime, bytes]] = (),
    ) -> bool:
        """Buffer one cycle's values (channel → value) and the raw meter frames received since the
        last cycle. Returns False (and stores nothing) for a time not after the newest stored one,
        so a resumed run never duplicates or rewrites history."""
        t = to_unix(time)
        if self._last_t is not None and t <= self._last_t:
            return False
        given = dict(values)
        values, dropped = plausible_values(given)
        for name, reason in dropped.items():  # stored as missing; said once per channel
            if name not in self.implausible:
                log.warning("not storing %s = %r: %s (said once per channel)", name, given[name], reason)
            self.implausible[name] = self.implausible.get(name, 0) + 1
        new = [name for name in values if name not in self._index]
        if new:
            self._grow_layout(new)
        row = [math.nan] * len(self._channels)
        for name, v in values.items():
            row[self._index[name]] = v
        packed = self._codec.pack_values(row)
        self._pending_samples.append((t, self._layout_id, packed))
        self._pending_frames.extend((_ms(ft), data) for ft, data in frames)
        # roll up exactly what is stored, so a rollup is the summary of the raw rows on disk
        self._roll(t, list(self._codec.unpack_values(packed)))
        self._last_t = t
        if self._due():
            self.flush()
        return True

    def _grow_layout(self, names: list[str]) -> None:
        """A new layout; stored in the same transaction as the first samples that use it, so the
        database never holds a sample whose layout it lacks (a failed flush keeps both pending)."""
        self._channels.extend(names)
        self._index = {c: i for i, c in enumerate(self._channels)}
        self._layout_id += 1
        self._codec = RowCodec(self._channels)
        self._pending_layouts.append((self._layout_id, json.dumps(self._channels)))

    def _roll(self, t: int, row: list[float]) -> None:
        for res in ROLLUPS:
            start = slot_start(res, t, self._tz)
            acc = self._acc.get(res)
            if acc is not None and acc.start != start:
                if not acc.empty:
                    self._pending_rollups.append(
                        (res, acc.start, self._layout_id, self._codec.pack_stats(acc.stats()))
                    )
                acc = None
            if acc is None:
                acc = self._acc[res] = Accumulator(start)
            acc.add(row)

    def _due(self) -> bool:
        if not self._flushed_once:
            return True
        if len(self._pending_samples) >= self.settings.batch_cycles:
            return True
        return self._wall() - self._last_flush >= self.settings.batch_seconds

    # ----- flushing -------------------------------------------------------------------------------
    def flush(self) -> int:
        """Commit everything buffered in one transaction; returns the number of cycles written."""
        n = len(self._pending_samples)
        if not (n or self._pending_rollups or self._pending_frames or self._pending_layouts):
            self._last_flush = self._wall()
            return 0
        with self.st.lock:
            conn = self.st.connection
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT OR REPLACE INTO layout (id, channels) VALUES (?, ?)", self._pending_layouts
                )
                conn.executemany(
                    "INSERT OR IGNORE INTO sample (t, t_last, layout, n, data) VALUES (?, ?, ?, ?, ?)",
                    _batches(self._pending_samples),
                )
                for res in ROLLUPS:
                    rows = [(t, lay, compress(b)) for r, t, lay, b in self._pending_rollups if r == res]
                    if rows:
                        conn.executemany(
                            f"INSERT OR REPLACE INTO rollup_{res} (t, layout, data) VALUES (?, ?, ?)", rows
                        )
                if self._pending_frames:
                    frames = self._pending_frames
                    conn.execute(
                        "INSERT OR IGNORE INTO frame (t, t_last, n, data) VALUES (?, ?, ?, ?)",
                        (frames[0][0], frames[-1][0], len(frames), pack_batch(frames[0][0], frames)),
                    )
                self._retention()
                conn.execute("COMMIT")
            except BaseException:
                # SQLite may have rolled back already (a full disk does): a second ROLLBACK would
                # raise "no transaction is active" and hide the real error
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        self._pending_layouts.clear()
        self._pending_samples.clear()
        self._pending_rollups.clear()
        self._pending_frames.clear()
        self._last_flush = self._wall()
        self._flushed_once = True
        return n

    def _retention(self) -> None:
        """Drop data older than the retention settings, at most once per hour of data time."""
        now = self._last_t
        if now is None or (self._last_retention is not None and now - self._last_retention < 3600):
            return
        self._last_retention = now
        s = self.settings
        execute = self.st.connection.execute
        execute("DELETE FROM sample WHERE t_last < ?", (now - max(s.raw_days, 2) * DAY_S,))
        execute("DELETE FROM rollup_1m WHERE t < ?", (now - s.minute_days * DAY_S,))
        execute("DELETE FROM rollup_15m WHERE t < ?", (now - s.quarter_days * DAY_S,))
        execute("DELETE FROM rollup_1h WHERE t < ?", (now - s.hour_days * DAY_S,))
        execute("DELETE FROM frame WHERE t_last < ?", ((now - s.frame_days * DAY_S) * 1000,))
        execute("DELETE FROM event WHERE t < ?", (now - s.event_days * DAY_S,))
        execute(  # a flood of events can never fill the disk: the newest event_max_rows are kept
            "DELETE FROM event WHERE id <= (SELECT id FROM event ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (s.event_max_rows,),
        )
        execute(  # keep at most frame_max_rows frames: drop the oldest batches beyond that
            "DELETE FROM frame WHERE t IN (SELECT t FROM "
            "(SELECT t, SUM(n) OVER (ORDER BY t DESC) - n AS newer FROM frame) WHERE newer >= ?)",
            (s.frame_max_rows,),
        )

    def close(self) -> None:
        """Flush what is buffered (a clean shutdown loses nothing). Open rollup slots stay in memory
        only; they are rebuilt from the raw samples on the next start."""
        self.flush()


def _batches(samples: list[tuple[int, int, bytes]]) -> list[tuple[int, int, int, int, bytes]]:
    """Group consecutive cycles of the same layout into batch rows (t, t_last, layout, n, data)."""
    out = []
    start = 0
    for i in range(1, len(samples) + 1):
        if i == len(samples) or samples[i][1] != samples[start][1]:
            group = samples[start:i]
            rows = [(t, payload) for t, _, payload in group]
            out.append((group[0][0], group[-1][0], group[0][1], len(group), pack_batch(group[0][0], rows)))
            start = i
    return out


def _ms(t: datetime) -> int:
    """Frames are kept with millisecond times (several arrive within a second)."""
    return round(t.timestamp() * 1000)
