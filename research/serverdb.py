"""DIR/server.sqlite: enrolments, the batch index and deletion receipts (never contact details).

One connection per use (`open_server_db`), WAL with ``synchronous=FULL`` so a committed row survives
a crash, and ``secure_delete`` so deleted rows are overwritten, not left in free pages. A household's
pseudonymous id appears here only while it takes part: `forget` wipes it and vacuums the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from research.paths import DataDir

SCHEMA = """
CREATE TABLE IF NOT EXISTS enrolments (
    enrolment TEXT PRIMARY KEY,
    prefix TEXT NOT NULL,
    token_sha256 TEXT UNIQUE,
    status TEXT NOT NULL DEFAULT 'active',
    household_id TEXT UNIQUE,
    enrolled_at TEXT NOT NULL,
    last_upload_at TEXT,
    resigned_at TEXT
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    household_id TEXT NOT NULL,
    day TEXT NOT NULL,
    received_at TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    repeats INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS batches_household ON batches(household_id);
CREATE TABLE IF NOT EXISTS receipts (
    id INTEGER PRIMARY KEY,
    enrolment TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    completed_at TEXT NOT NULL,
    batches INTEGER NOT NULL,
    files INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    what TEXT NOT NULL
);
"""


def connect_server_db(data: DataDir, *, shared: bool = False) -> sqlite3.Connection:
    """A new connection to DIR/server.sqlite (created with its schema on first use), autocommit.

    ``shared``: usable from any thread (the caller serialises its use), for a connection kept open
    across requests — closing the last connection checkpoints the WAL, a cost every batch paid."""
    data.ensure()
    conn = sqlite3.connect(data.server_db, timeout=30, isolation_level=None, check_same_thread=not shared)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA secure_delete=ON")
        conn.executescript(SCHEMA)
    except BaseException:
        conn.close()
        raise
    conn.row_factory = sqlite3.Row
    return conn


@contextmanager
def open_server_db(data: DataDir) -> Iterator[sqlite3.Connection]:
    """A connection to DIR/server.sqlite (created with its schema on first use); commits on success."""
    conn = connect_server_db(data)
    try:
        yield conn
    finally:
        conn.close()


def compact_file(conn: sqlite3.Connection) -> None:
    """Rewrite the database file and empty the WAL: deleted rows leave no bytes behind."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
