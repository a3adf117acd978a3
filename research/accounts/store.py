"""DIR/accounts.sqlite: researchers, their portal sessions and API keys, and the access log.

Passwords are kept only as Argon2id hashes (argon2-cffi); API keys and session tokens are 256-bit
random strings kept as SHA-256 hashes (a slow hash would buy nothing for random strings and cost
every request). Nothing here is reachable from a researcher's query: the released views live in
another, in-memory database (research.store.released).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from research.paths import DataDir

SCHEMA = """
CREATE TABLE IF NOT EXISTS researchers (
    user_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    institution TEXT NOT NULL,
    purpose TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'applied',
    applied_at TEXT NOT NULL,
    decided_at TEXT,
    decided_why TEXT
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_sha256 TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES researchers(user_id),
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES researchers(user_id),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS access_log (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    at TEXT NOT NULL,
    via TEXT NOT NULL,
    what TEXT NOT NULL,
    detail TEXT NOT NULL,
    rows INTEGER,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS access_log_user ON access_log(user_id, at);
"""


@contextmanager
def open_accounts_db(data: DataDir) -> Iterator[sqlite3.Connection]:
    """A connection to DIR/accounts.sqlite (created with its schema on first use)."""
    data.ensure()
    conn = sqlite3.connect(data.accounts_db, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(SCHEMA)
        conn.row_factory = sqlite3.Row
        yield conn
    finally:
        conn.close()
