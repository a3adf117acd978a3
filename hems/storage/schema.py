"""The SQLite schema and connection settings.

WAL mode with ``synchronous=NORMAL``: a crash or power cut may lose the last committed batches but
never corrupts the file. Small pages (1 KiB) because rows are appended a few at a time: each batch
rewrites the last, partly filled page of a few tables, and a small page keeps that rewrite small.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = 2
PAGE_SIZE = 1024

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS layout (id INTEGER PRIMARY KEY, channels TEXT NOT NULL);
-- one row per written batch of cycles (hems.storage.codec.pack_batch): t = first cycle, t_last = last
-- cycle [unix s, UTC]; every cycle holds every channel of its layout
CREATE TABLE IF NOT EXISTS sample (
    t INTEGER PRIMARY KEY, t_last INTEGER NOT NULL, layout INTEGER NOT NULL, n INTEGER NOT NULL,
    data BLOB NOT NULL);
-- one row per slot, the statistics of every channel, compressed
CREATE TABLE IF NOT EXISTS rollup_1m (t INTEGER PRIMARY KEY, layout INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS rollup_15m (t INTEGER PRIMARY KEY, layout INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS rollup_1h (t INTEGER PRIMARY KEY, layout INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS rollup_1d (t INTEGER PRIMARY KEY, layout INTEGER NOT NULL, data BLOB NOT NULL);
-- raw smart-meter frames, kept for a while so a decoder fix can re-decode history (batched like
-- sample; t and t_last in unix MILLIseconds, several frames arrive within a second)
CREATE TABLE IF NOT EXISTS frame (
    t INTEGER PRIMARY KEY, t_last INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS event (
    id INTEGER PRIMARY KEY, t INTEGER NOT NULL, kind TEXT NOT NULL, level TEXT NOT NULL,
    message TEXT NOT NULL, data TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS event_t ON event (t);
CREATE TABLE IF NOT EXISTS doc (key TEXT PRIMARY KEY, t INTEGER NOT NULL, body TEXT NOT NULL);
"""


class SchemaError(sqlite3.DatabaseError):
    """The file is not a hems database this version can read."""


def check_version(conn: sqlite3.Connection, path: Path) -> None:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise SchemaError(f"{path}: not a hems database ({exc})") from None
    if row is None:
        raise SchemaError(f"{path}: not a hems database (no schema version)")
    if row[0] != str(SCHEMA_VERSION):
        raise SchemaError(
            f"{path}: database schema {row[0]}, this hems reads schema {SCHEMA_VERSION}; "
            "keep it with the hems version that wrote it, or start a new database"
        )


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open (creating when writable) a hems database with the project's pragmas."""
    p = Path(path)
    if readonly:
        if not p.exists():
            raise FileNotFoundError(f"{p}: no such database")
        # the path as a URI, escaped: a '#' or '?' in a file name must not cut the name short
        conn = sqlite3.connect(
            f"{p.resolve().as_uri()}?mode=ro",
            uri=True,
            timeout=5.0,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute("PRAGMA query_only = ON")
        try:
            has_meta = conn.execute(
                "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'"
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise SchemaError(f"{p}: not a hems database ({exc})") from None
        if has_meta:  # a database still being created by its writer reads as empty until then
            check_version(conn, p)
        return conn
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    fresh = not p.exists() or p.stat().st_size == 0
    conn = sqlite3.connect(p, timeout=10.0, isolation_level=None, check_same_thread=False)
    if fresh:
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    else:
        # an existing file is changed only once it is known to be ours, at this schema: a foreign
        # database is not adopted and a newer one is not "repaired" by this version
        try:
            ours = conn.execute(
                "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'"
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise SchemaError(f"{p}: not a hems database ({exc})") from None
        if not ours:
            conn.close()
            raise SchemaError(f"{p}: not a hems database (it has no hems tables); nothing was changed")
        try:
            check_version(conn, p)
        except SchemaError:
            conn.close()
            raise
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA wal_autocheckpoint = 1000")
    conn.execute("PRAGMA journal_size_limit = 4194304")
    conn.execute("PRAGMA foreign_keys = ON")
    # tables and version in one transaction: a file is never left with hems tables and no version
    conn.executescript(
        f"BEGIN; {DDL} INSERT OR IGNORE INTO meta (key, value) "
        f"VALUES ('schema_version', '{SCHEMA_VERSION}'); COMMIT;"
    )
    check_version(conn, p)
    return conn
