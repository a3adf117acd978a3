"""The telemetry outbox and state, in the box's own SQLite database (tables ``telemetry_*``).

- ``telemetry_state``: the pseudonymous household id (made once, on first use), the first day to
  upload, and a withdrawal record that keeps uploads stopped whatever the config says later.
- ``telemetry_outbox``: one row per batch (or deletion request), keyed by its idempotent id. A
  row waits until the server acknowledges that id; then its body is dropped and ``acked_at`` kept,
  so the same day is never queued twice. Failures back off exponentially per row.

All times are stored as ISO-8601 UTC text.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hems.telemetry.privacy import new_household_id

_SCHEMA = """
CREATE TABLE IF NOT EXISTS telemetry_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS telemetry_outbox (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('batch', 'deletion')),
    day TEXT,
    created_at TEXT NOT NULL,
    body BLOB,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    acked_at TEXT
);
CREATE INDEX IF NOT EXISTS telemetry_outbox_due ON telemetry_outbox (acked_at, next_attempt_at);
"""


@contextmanager
def transaction(db: sqlite3.Connection, lock: threading.RLock) -> Iterator[None]:
    """One atomic transaction on a shared connection, whatever its isolation level (also used by
    hems.research_jobs.store)."""
    with lock:
        if db.in_transaction:
            db.commit()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class OutboxItem:
    """One queued request: a day's batch or a deletion request. ``body`` is gzip'd JSON."""

    id: str
    kind: str  #: "batch" or "deletion"
    day: str | None  #: local date of a batch, YYYY-MM-DD
    body: bytes
    attempts: int
    next_attempt_at: datetime


@dataclass(frozen=True)
class OutboxStatus:
    pending: int  #: batches waiting for an acknowledgement
    acked: int  #: batches the server has acknowledged
    deletions_pending: int
    oldest_pending_day: str | None
    last_error: str | None


class Outbox:
    """The outbox and telemetry state on a sqlite3 connection (the storage's, or any other)."""

    def __init__(self, connection: sqlite3.Connection, lock: threading.RLock | None = None) -> None:
        """``lock``: the storage's lock when the connection is shared between threads."""
        self.db = connection
        self.lock = lock or threading.RLock()
        with self._tx():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)

    def _tx(self) -> AbstractContextManager[None]:
        return transaction(self.db, self.lock)

    def _one(self, sql: str, args: tuple[object, ...] = ()) -> object:
        with self.lock:
            row = self.db.execute(sql, args).fetchone()
        return None if row is None else row[0]

    # --- state ---------------------------------------------------------------------------------
    def get_state(self, key: str) -> str | None:
        return _opt(self._one("SELECT value FROM telemetry_state WHERE key = ?", (key,)))

    def set_state(self, key: str, value: str) -> None:
        with self._tx():
            self.db.execute("INSERT OR REPLACE INTO telemetry_state (key, value) VALUES (?, ?)", (key, value))

    def delete_state(self, key: str) -> None:
        with self._tx():
            self.db.execute("DELETE FROM telemetry_state WHERE key = ?", (key,))

    def household_id(self) -> str:
        """The household's pseudonymous id, generated (randomly) and stored on first use."""
        with self._tx():
            self.db.execute(
                "INSERT OR IGNORE INTO telemetry_state (key, value) VALUES ('household_id', ?)",
                (new_household_id(),),
            )
        hid = self.get_state("household_id")
        assert hid is not None
        return hid

    def withdrawn_at(self) -> datetime | None:
        value = self.get_state("withdrawn_at")
        return None if value is None else _time(value)

    def record_withdrawal(self, now: datetime) -> str | None:
        """Record the withdrawal, delete every queued batch and forget the household id.

        Returns the id that was in use (for the deletion request), or None if none was ever made.
        """
        with self._tx():
            hid = _opt(self._one("SELECT value FROM telemetry_state WHERE key = 'household_id'"))
            self.db.execute("DELETE FROM telemetry_outbox WHERE kind = 'batch'")
            self.db.execute(
                "INSERT OR REPLACE INTO telemetry_state (key, value) VALUES ('withdrawn_at', ?)",
                (_iso(now),),
            )
            self.db.execute(
                "DELETE FROM telemetry_state WHERE key IN ('household_id', 'first_day', 'auth_error')"
            )
        return hid

    def clear_withdrawal(self) -> None:
        """Consent given again: a new household id will be made, unlinkable to the old one."""
        self.delete_state("withdrawn_at")

    # --- queue ---------------------------------------------------------------------------------
    def queued_days(self) -> set[str]:
        with self.lock:
            rows = self.db.execute("SELECT day FROM telemetry_outbox WHERE kind = 'batch'").fetchall()
        return {str(r[0]) for r in rows}

    def enqueue(self, item_id: str, kind: str, day: str | None, body: bytes, now: datetime) -> bool:
        """Queue a request unless its id is already known; True if it was added."""
        with self._tx():
            cur = self.db.execute(
                "INSERT OR IGNORE INTO telemetry_outbox (id, kind, day, created_at, body, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (item_id, kind, day, _iso(now), body, _iso(now)),
            )
            return cur.rowcount == 1

    def due(self, now: datetime, limit: int, kind: str | None = None) -> list[OutboxItem]:
        """Unacknowledged requests whose retry time has come, oldest day first, at most ``limit``."""
        sql = (
            "SELECT id, kind, day, body, attempts, next_attempt_at FROM telemetry_outbox"
            " WHERE acked_at IS NULL AND next_attempt_at <= ?"
        )
        args: list[object] = [_iso(now)]
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        sql += " ORDER BY kind = 'batch', day, created_at LIMIT ?"
        args.append(limit)
        with self.lock:
            rows = self.db.execute(sql, args).fetchall()
        return [OutboxItem(r[0], r[1], r[2], bytes(r[3]), int(r[4]), _time(r[5])) for r in rows]

    def still_queued(self, item_id: str) -> bool:
        """Whether ``item_id`` is still waiting (a withdrawal in another process deletes batches)."""
        return (
            self._one("SELECT 1 FROM telemetry_outbox WHERE id = ? AND acked_at IS NULL", (item_id,))
            is not None
        )

    def mark_acked(self, item_id: str, now: datetime) -> None:
        """The server acknowledged ``item_id``: drop its body, keep the row as a record."""
        with self._tx():
            self.db.execute(
                "UPDATE telemetry_outbox SET acked_at = ?, body = NULL, last_error = NULL WHERE id = ?",
                (_iso(now), item_id),
            )

    def mark_failed(
        self, item_id: str, now: datetime, error: str, base: timedelta, ceiling: timedelta
    ) -> datetime:
        """Count a failed attempt and schedule the next: ``base * 2**(attempts-1)``, capped."""
        with self._tx():
            row = self._one("SELECT attempts FROM telemetry_outbox WHERE id = ?", (item_id,))
            attempts = int(str(row or 0)) + 1
            delay = min(base * (2 ** min(attempts - 1, 30)), ceiling)
            next_at = now + delay
            self.db.execute(
                "UPDATE telemetry_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                (attempts, _iso(next_at), error, item_id),
            )
        return next_at

    def next_attempt_at(self) -> datetime | None:
        """The earliest retry time of anything unacknowledged, or None when nothing waits."""
        value = self._one("SELECT min(next_attempt_at) FROM telemetry_outbox WHERE acked_at IS NULL")
        return None if value is None else _time(str(value))

    def status(self) -> OutboxStatus:
        def count(kind: str, acked: bool) -> int:
            sql = "SELECT count(*) FROM telemetry_outbox WHERE kind = ? AND acked_at IS " + (
                "NOT NULL" if acked else "NULL"
            )
            return int(str(self._one(sql, (kind,))))

        return OutboxStatus(
            pending=count("batch", False),
            acked=count("batch", True),
            deletions_pending=count("deletion", False),
            oldest_pending_day=_opt(
                self._one("SELECT min(day) FROM telemetry_outbox WHERE kind = 'batch' AND acked_at IS NULL")
            ),
            last_error=_opt(
                self._one(
                    "SELECT last_error FROM telemetry_outbox"
                    " WHERE acked_at IS NULL AND last_error IS NOT NULL"
                    " ORDER BY next_attempt_at DESC LIMIT 1"
                )
            ),
        )


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
