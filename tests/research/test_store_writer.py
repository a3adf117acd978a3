"""Compacting a month from the days kept in memory gives the file that reading them back gives,
and a daily file changed behind the cache's back is read from disk."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from research.store import layout
from research.store.writer import DayCache, compact_month, write_atomic, write_day

HID = "h-" + "b" * 26
OTHER = "h-" + "c" * 26


def _day(d: date, value: float) -> dict[str, pa.Table]:
    readings = pa.table({"day": pa.array([d] * 3, pa.date32()), "value": [value, value + 1, None]})
    batches = pa.table({"day": pa.array([d], pa.date32()), "batch_id": [f"{HID}/{d}"]})
    return {"readings": readings, "batches": batches}


def _month(store: Path, table: str) -> pa.Table:
    return pq.read_table(layout.month_file(store, table, HID, "2026-03"))


def test_compaction_from_memory_equals_compaction_from_disk(tmp_path: Path) -> None:
    cached, plain = tmp_path / "cached", tmp_path / "plain"
    cache = DayCache()
    for day in range(1, 8):
        d = date(2026, 3, day)
        write_day(cached, _day(d, day), HID, d, cache)
        write_day(plain, _day(d, day), HID, d)
    assert len(cache) == 14
    for table in layout.TABLES:
        assert compact_month(cached, table, HID, "2026-03", cache)
        assert compact_month(plain, table, HID, "2026-03")
        assert _month(cached, table).equals(_month(plain, table))
    assert len(cache) == 0  # what was merged is not kept twice
    assert not list((cached / "readings").rglob("day-*.parquet"))


def test_a_file_replaced_behind_the_cache_is_read_from_disk(tmp_path: Path) -> None:
    cache = DayCache()
    d = date(2026, 3, 2)
    write_day(tmp_path, _day(d, 1.0), HID, d, cache)
    # another writer (e.g. a repair) replaces the day's readings; the cache still holds the old table
    path = layout.day_file(tmp_path, "readings", HID, d)
    write_atomic(_day(d, 50.0)["readings"], path)
    assert compact_month(tmp_path, "readings", HID, "2026-03", cache)
    assert _month(tmp_path, "readings").column("value").to_pylist() == [50.0, 51.0, None]


def test_the_cache_is_bounded_and_forgets_a_household(tmp_path: Path) -> None:
    one = _day(date(2026, 3, 1), 1.0)
    size = one["readings"].nbytes + one["batches"].nbytes
    cache = DayCache(max_bytes=3 * size)
    for day in range(1, 6):
        d = date(2026, 3, day)
        write_day(tmp_path, _day(d, day), HID, d, cache)
    assert len(cache) <= 6
    kept = layout.day_file(tmp_path, "readings", HID, date(2026, 3, 5))
    assert cache.drop(kept) is not None  # the newest are the ones kept
    write_day(tmp_path, _day(date(2026, 3, 6), 6.0), OTHER, date(2026, 3, 6), cache)
    cache.forget_household(HID)
    assert len(cache) == 2  # only the other household's day is left


def test_staged_files_are_moved_in_or_dropped_and_a_dead_writers_are_recovered(tmp_path: Path) -> None:
    import subprocess
    import sys

    from research.store.writer import discard, publish, recover, stage_day

    store, staging = tmp_path / "store", tmp_path / "staging"
    d = date(2026, 3, 2)
    staged = stage_day(staging, store, _day(d, 1.0), HID, d)
    assert len(list(staging.glob("*.tmp"))) == 2 and not store.exists()  # nothing in the store yet
    publish(staged)
    assert not list(staging.glob("*.tmp"))
    assert pq.read_table(layout.day_file(store, "readings", HID, d)).column("value").to_pylist()[0] == 1.0
    dropped = stage_day(staging, store, _day(d, 2.0), HID, d)
    discard(dropped)  # refused under the lock: nothing of it stays
    assert not list(staging.glob("*.tmp"))
    # a writer that died mid-batch left its staged file; a live writer's file is kept
    code = "import os; print(os.getpid())"
    dead = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    left = staging / f"{dead.stdout.strip()}-abc.parquet.tmp"
    left.write_bytes(b"half a file")
    working = staging / f"{os.getppid()}-def.parquet.tmp"  # another worker process, alive
    working.write_bytes(b"being written")
    removed = recover(store, staging)
    assert left in removed and not left.exists()
    assert working.exists() and working not in removed


def test_a_resignation_clears_what_a_crashed_writer_left_staged(tmp_path: Path) -> None:
    import subprocess
    import sys
    from datetime import UTC, datetime

    from research.enrol import enrol
    from research.paths import DataDir
    from research.resign import resign
    from research.serverdb import open_server_db
    from research.store.writer import stage_day

    data = DataDir(tmp_path / "research").ensure()
    e = enrol(data, "1081", now=datetime.now(UTC))
    with open_server_db(data) as db:
        db.execute("UPDATE enrolments SET household_id = ? WHERE enrolment = ?", (HID, e.enrolment))
    d = date(2026, 3, 2)
    code = "import os; print(os.getpid())"
    dead = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    left = data.staging / f"{dead.stdout.strip()}-abc.parquet.tmp"
    in_flight = stage_day(data.staging, data.store, _day(d, 1.0), HID, d)  # this process: a live writer
    left.write_bytes(HID.encode())  # a crash's leftover holds the household's data
    now = datetime.now(UTC)
    resign(data, e.enrolment, requested_by="administrator", requested_at=now, now=now)
    assert not left.exists()
    assert all(s.tmp.exists() for s in in_flight)  # another request's batch: it is refused under the lock


def test_a_month_merged_outside_the_lock_is_not_put_in_place_when_a_day_came_meanwhile(
    tmp_path: Path,
) -> None:
    from research.store.writer import merge_month, months_due, replace_month

    store, staging = tmp_path / "store", tmp_path / "staging"
    for day in range(1, 4):
        write_day(store, _day(date(2026, 3, day), float(day)), HID, date(2026, 3, day))
    assert months_due(store, HID, "2026-04") == [("readings", "2026-03"), ("batches", "2026-03")]
    merged = merge_month(staging, store, "readings", HID, "2026-03")
    assert merged is not None
    write_day(store, _day(date(2026, 3, 4), 4.0), HID, date(2026, 3, 4))  # a late day, meanwhile
    assert not replace_month(merged) and not merged.tmp.exists()
    assert len(list(layout.month_dir(store, "readings", HID, "2026-03").glob("day-*.parquet"))) == 4
    again = merge_month(staging, store, "readings", HID, "2026-03")
    assert again is not None and replace_month(again)
    assert _month(store, "readings").column("day").to_pylist()[::3] == [date(2026, 3, d) for d in range(1, 5)]
    assert months_due(store, HID, "2026-04") == [("batches", "2026-03")]
