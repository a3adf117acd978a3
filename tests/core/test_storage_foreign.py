"""Opening a database hems should not own (issue 15 item 4): check first, change nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hems.storage import SchemaError, Storage


def _files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.parent.iterdir())}


def test_a_foreign_sqlite_file_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "photos.db"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE album (id INTEGER PRIMARY KEY, name TEXT)")
        other.execute("INSERT INTO album (name) VALUES ('summer')")
    other.close()
    before = _files(path)
    with pytest.raises(SchemaError, match=r"not a hems database.*nothing was changed"):
        Storage.open(path)
    assert _files(path) == before  # no hems tables, no WAL switch, no -wal or -shm file


def test_a_newer_schema_is_refused_before_anything_is_recreated(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    Storage.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        conn.execute("DROP TABLE event")
    conn.close()
    with pytest.raises(SchemaError, match="schema 99"):
        Storage.open(path)
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    conn.close()
    assert "event" not in tables


def test_a_read_only_open_takes_the_whole_file_name(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"not a database at all, and not the file asked for" * 50)
    path = tmp_path / "a#b.db"
    with Storage.open(path, timezone="Europe/Oslo") as st:
        st.put_doc("k", {"v": 1})
    with Storage.open(path, readonly=True) as ro:
        assert ro.get_doc("k") == {"v": 1}
