"""Durable writes to the store: a day's files land whole or not at all, and survive a crash once
`write_day` returns (temporary file, fsync, atomic rename, fsync of the directory).

Daily files of finished months (last day in, or a later month begun) are compacted into one
monthly file per table: the server merges a month outside its store lock and puts it in place under
it (`merge_month`, `replace_month`); `compact_household` does both in one go for tools that write
the store directly. A crash half-way through compaction is repaired by
`recover` (run when the server starts), so a day is never read twice. A `DayCache` keeps the tables
just written, so compacting a month does not read its daily files back (it reads a file only when
the cache no longer holds it, or holds a different version of it).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from research.store import layout

COMPRESSION = "zstd"


def _fsync(path: Path) -> None:
    """Make a file's bytes, or a directory's entries, durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stat(path: Path) -> tuple[int, int] | None:
    """A file's size and modification time (None: it is gone): what tells one version from another."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns


def _write_durable(table: pa.Table, tmp: Path, **options: Any) -> None:
    """Write ``table`` to ``tmp`` and fsync it (zstd unless ``options`` say otherwise); nothing is
    left of ``tmp`` when that fails."""
    try:
        pq.write_table(table, tmp, **({"compression": COMPRESSION} | options))
        _fsync(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _staged_path(staging: Path) -> Path:
    """A new file name in ``staging``, carrying this process's id (`clear_staging` reads it)."""
    staging.mkdir(exist_ok=True)
    return staging / f"{os.getpid()}-{uuid.uuid4().hex}.parquet.tmp"


def _make_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents, each made durable in its parent directory."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(exist_ok=True)
        _fsync(d.parent)


class DayCache:
    """The daily tables last written, by path, bounded by their size in memory (oldest out first).

    An entry is used only while the file on disk is the one it was written as (same size and
    modification time), so a file replaced or removed by another process is read from disk.
    """

    def __init__(self, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._tables: OrderedDict[Path, tuple[pa.Table, tuple[int, int]]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # a month is merged outside the store lock

    def put(self, path: Path, table: pa.Table) -> None:
        version = _stat(path)
        if version is None:
            raise FileNotFoundError(path)
        with self._lock:
            self._drop(path)
            self._tables[path] = (table, version)
            self._bytes += table.nbytes
            while self._bytes > self.max_bytes and self._tables:
                self._drop(next(iter(self._tables)))

    def take(self, path: Path) -> pa.Table:
        """The table of ``path`` (from memory when it is still the file on disk); forgotten after."""
        entry = self.drop(path)
        if entry is not None and entry[1] == _stat(path):
            return entry[0]
        return pq.read_table(path)

    def drop(self, path: Path) -> tuple[pa.Table, tuple[int, int]] | None:
        with self._lock:
            return self._drop(path)

    def _drop(self, path: Path) -> tuple[pa.Table, tuple[int, int]] | None:
        entry = self._tables.pop(path, None)
        if entry is not None:
            self._bytes -= entry[0].nbytes
        return entry

    def forget_household(self, household_id: str) -> None:
        """Drop every table of a household (its data is being deleted)."""
        with self._lock:
            for path in [p for p in self._tables if f"household={household_id}" in p.parts]:
                self._drop(path)

    def __len__(self) -> int:
        return len(self._tables)


#: a day's one-row ``batches`` file: compressing 23 columns of one row saves nothing and cost half of
#: its write (it is compressed with the rest of its month when the month is compacted)
ONE_ROW: dict[str, Any] = {"compression": "none", "write_statistics": False, "use_dictionary": False}
#: a day's readings: dictionary-encode the columns that repeat (a day's file is 20 % smaller and its
#: write 15-35 % faster than with every column tried; its month's file still tries them all)
DAY_READINGS: dict[str, Any] = {"use_dictionary": ["household_id", "day", "channel", "resolution_s"]}
DAY_OPTIONS = {"batches": ONE_ROW, "readings": DAY_READINGS}  #: a day's files, by table


def write_atomic(table: pa.Table, path: Path, **options: Any) -> int:
    """Write ``table`` to ``path`` durably and atomically; the file's size [bytes]. ``options`` go to
    `pyarrow.parquet.write_table` (default: zstd)."""
    _make_dirs(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    _write_durable(table, tmp, **options)
    os.replace(tmp, path)
    _fsync(path.parent)
    return path.stat().st_size


@dataclass(frozen=True)
class Staged:
    """A table written and fsync'd in the staging directory, waiting to be moved to ``path``."""

    tmp: Path
    path: Path
    table: pa.Table


def stage_day(
    staging: Path, store: Path, tables: dict[str, pa.Table], household_id: str, day: date
) -> list[Staged]:
    """Write one day's tables durably into ``staging`` (outside the store lock: other batches are
    stored meanwhile); `publish` moves them into the store, `discard` drops them. The file names
    carry the writer's process id, so `recover` knows which ones a dead process left."""
    out = []
    try:
        for name in sorted(tables, key=lambda t: t == "batches"):
            tmp = _staged_path(staging)
            out.append(Staged(tmp, layout.day_file(store, name, household_id, day), tables[name]))
            _write_durable(tables[name], tmp, **DAY_OPTIONS.get(name, {}))
    except BaseException:
        discard(out)
        raise
    return out


def publish(staged: list[Staged], cache: DayCache | None = None) -> int:
    """Move staged files into the store (in order: ``batches`` last) and make the moves durable;
    bytes published. Call under the store lock."""
    written = 0
    for s in staged:
        _make_dirs(s.path.parent)
        os.replace(s.tmp, s.path)
        _fsync(s.path.parent)
        written += s.path.stat().st_size
        if cache is not None:
            cache.put(s.path, s.table)
    return written


def discard(staged: list[Staged]) -> None:
    for s in staged:
        s.tmp.unlink(missing_ok=True)


def write_day(
    store: Path, tables: dict[str, pa.Table], household_id: str, day: date, cache: DayCache | None = None
) -> int:
    """Write one day's tables (``{"readings": ..., "batches": ...}``); bytes written.

    ``batches`` is written last: a day whose batch row is on disk has all its readings on disk.
    """
    written = 0
    for name in sorted(tables, key=lambda t: t == "batches"):
        path = layout.day_file(store, name, household_id, day)
        written += write_atomic(tables[name], path, **DAY_OPTIONS.get(name, {}))
        if cache is not None:
            cache.put(path, tables[name])
    return written


def _day_of(path: Path) -> str | None:
    return path.stem.removeprefix("day-") if path.name.startswith("day-") else None


def compact_month(
    store: Path, table: str, household_id: str, month: str, cache: DayCache | None = None
) -> bool:
    """Merge a month's daily files (and its monthly file, if any) into one monthly file, in one go
    (the caller holds the store lock); True when something was compacted. The server merges outside
    the lock instead (`merge_month`, then `replace_month` under it)."""
    folder = layout.month_dir(store, table, household_id, month)
    merged = merge_month(folder, store, table, household_id, month, cache)
    if merged is None:
        return False
    try:
        return replace_month(merged)
    finally:
        merged.tmp.unlink(missing_ok=True)


def compact_household(
    store: Path, household_id: str, before_month: str, cache: DayCache | None = None
) -> int:
    """Compact every month earlier than ``before_month`` that has daily files; months compacted."""
    done = 0
    for table in layout.TABLES:
        base = layout.household_dir(store, table, household_id)
        for folder in sorted(base.glob("month=*")):
            month = folder.name.removeprefix("month=")
            if month < before_month and compact_month(store, table, household_id, month, cache):
                done += 1
    return done


@dataclass(frozen=True)
class Merged:
    """A month merged into a staged file, waiting to replace the files it was merged from."""

    tmp: Path
    target: Path  #: the monthly file
    sources: tuple[tuple[Path, tuple[int, int] | None], ...]  #: each file merged, as it was


def months_due(store: Path, household_id: str, before_month: str) -> list[tuple[str, str]]:
    """(table, month) of every month earlier than ``before_month`` that has daily files."""
    due = []
    for table in layout.TABLES:
        for folder in sorted(layout.household_dir(store, table, household_id).glob("month=*")):
            month = folder.name.removeprefix("month=")
            if month < before_month and any(folder.glob("day-*.parquet")):
                due.append((table, month))
    return due


def merge_month(
    staging: Path, store: Path, table: str, household_id: str, month: str, cache: DayCache | None = None
) -> Merged | None:
    """Outside the store lock: a month's daily files (and its monthly file) merged into a staged,
    fsync'd file; None when there is nothing to merge or a file went away meanwhile."""
    folder = layout.month_dir(store, table, household_id, month)
    target = layout.month_file(store, table, household_id, month)
    daily = sorted(folder.glob("day-*.parquet"))
    sources = tuple((p, _stat(p)) for p in [target, *daily])
    if not daily:
        return None
    try:
        days = [cache.take(p) if cache is not None else pq.read_table(p) for p in daily]
        parts = ([pq.read_table(target)] if sources[0][1] is not None else []) + days
    except FileNotFoundError:  # compacted or deleted meanwhile
        return None
    # files written before a column was added (e.g. batches' heating, pv, ev) get it as nulls
    merged = pa.concat_tables(parts, promote_options="default").sort_by([("day", "ascending")])
    tmp = _staged_path(staging)
    _write_durable(merged, tmp)
    return Merged(tmp, target, sources)


def replace_month(m: Merged) -> bool:
    """Under the store lock: the merged file replaces the month's files when they are still the ones
    it was merged from (no day came, went or changed); False (and the merge dropped) otherwise."""
    folder = m.target.parent
    now = tuple((p, _stat(p)) for p in [m.target, *sorted(folder.glob("day-*.parquet"))])
    if now != m.sources:
        m.tmp.unlink(missing_ok=True)
        return False
    os.replace(m.tmp, m.target)  # the month first: a crash before the days go leaves days recover drops
    for p, _ in m.sources[1:]:
        p.unlink()
    _fsync(folder)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clear_staging(staging: Path, *, own: bool) -> list[Path]:
    """Remove staged files whose writer is gone (and this process's own with ``own``: at start, when
    it has none in flight); the paths removed. A resignation calls it too: a crash's leftovers hold
    household data."""
    removed = []
    for tmp in staging.glob("*.tmp"):
        pid = tmp.name.split("-", 1)[0]
        mine = pid.isdigit() and int(pid) == os.getpid()
        if not pid.isdigit() or (mine and own) or (not mine and not _alive(int(pid))):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def recover(store: Path, staging: Path | None = None) -> list[Path]:
    """Repair what a crash can leave: stale ``*.tmp`` files, staged files of processes that are gone,
    and daily files already merged into their monthly file. The paths removed."""
    removed = clear_staging(staging, own=True) if staging is not None else []
    for tmp in store.glob("*/household=*/month=*/*.tmp"):
        tmp.unlink()
        removed.append(tmp)
    # only a month that has daily files beside its monthly file needs its days read (a year's store
    # has 2 400 monthly files: reading each at every start took a minute)
    folders = {daily.parent for daily in store.glob("*/household=*/month=*/day-*.parquet")}
    for folder in sorted(folders):
        monthly = folder / f"month-{folder.name.removeprefix('month=')}.parquet"
        if not monthly.exists():
            continue
        days = set(pq.read_table(monthly, columns=["day"]).column("day").to_pylist())
        for daily in folder.glob("day-*.parquet"):
            day = _day_of(daily)
            if day is not None and date.fromisoformat(day) in days:
                daily.unlink()
                removed.append(daily)
    return removed
