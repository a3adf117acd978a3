"""Storage under faults (issue 15 item 1): a failed write never leaves data unreadable or the box
unable to start."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hems.storage import SampleWriter, Storage, WriterSettings

START = datetime(2026, 1, 10, tzinfo=UTC)


def _locked(path: Path) -> sqlite3.Connection:
    """Another process's connection holding the database's write lock."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    return other


def test_a_failed_layout_insert_loses_nothing_and_the_box_restarts(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    st = Storage.open(path, timezone="Europe/Oslo")
    st.connection.execute("PRAGMA busy_timeout = 50")
    w = SampleWriter(st, WriterSettings(batch_cycles=10, batch_seconds=3600))
    t = [START + timedelta(seconds=10 * i) for i in range(40)]
    for i in range(10):
        w.add(t[i], {"old": float(i)})
    other = _locked(path)
    # a new channel arrives while the database is locked past the busy timeout
    failures = 0
    for i in range(10, 20):
        try:
            w.add(t[i], {"old": float(i), "new": 100.0 + i})
        except sqlite3.OperationalError:
            failures += 1  # the daemon logs this and goes on; the cycle stays buffered
    assert failures >= 1
    other.execute("ROLLBACK")
    other.close()
    for i in range(20, 30):
        w.add(t[i], {"old": float(i), "new": 100.0 + i})
    w.close()
    st.close()

    reopened = Storage.open(path)
    SampleWriter(reopened).close()  # the box starts again
    old = reopened.series("old", t[0], t[-1], "raw")
    new = reopened.series("new", t[0], t[-1], "raw")
    assert [p.mean for p in old] == [float(i) for i in range(30)]
    assert [p.mean for p in new] == [100.0 + i for i in range(10, 30)]
    reopened.close()


def test_samples_whose_layout_is_missing_are_skipped_and_the_writer_starts(tmp_path: Path) -> None:
    """A database damaged by the old writer (samples naming a layout never stored) stays readable."""
    path = tmp_path / "h.db"
    st = Storage.open(path, timezone="Europe/Oslo")
    w = SampleWriter(st, WriterSettings(batch_cycles=5, batch_seconds=3600))
    for i in range(10):
        w.add(START + timedelta(seconds=10 * i), {"a": float(i), "b": 1.0} if i >= 5 else {"a": float(i)})
    w.close()
    # lose layout 2 as the old writer did when its insert failed
    st.connection.execute("DELETE FROM layout WHERE id = (SELECT MAX(id) FROM layout)")
    st.close()

    again = Storage.open(path)
    w = SampleWriter(again)  # used to die in _resume with struct.error
    w.add(START + timedelta(seconds=200), {"a": 20.0, "c": 3.0})
    w.close()
    a = again.series("a", START, START + timedelta(hours=1), "raw")
    assert [p.mean for p in a] == [0.0, 1.0, 2.0, 3.0, 4.0, 20.0]
    layouts = [json.loads(c) for (c,) in again.connection.execute("SELECT channels FROM layout ORDER BY id")]
    # the new layout takes a fresh id: it never relabels the samples of the lost one
    used = {lay for (lay,) in again.connection.execute("SELECT DISTINCT layout FROM sample")}
    assert len(used) == 3 and layouts[-1] == ["a", "c"]
    again.close()


def test_the_event_log_is_bounded(tmp_path: Path) -> None:
    st = Storage.open(tmp_path / "h.db", timezone="Europe/Oslo")
    for i in range(500):
        st.log_event(START + timedelta(seconds=i), "mqtt.rejected", "warning", f"flood {i}")
    w = SampleWriter(st, WriterSettings(event_max_rows=100))
    w.add(START + timedelta(hours=2), {"x": 1.0})  # the first cycle's flush applies retention
    w.close()
    kept = st.events(START, START + timedelta(days=1))
    assert len(kept) == 100 and kept[-1].message == "flood 499"
    st.close()
