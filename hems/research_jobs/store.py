"""The log of research jobs on the box (table ``research_job``): every job, its decision and result.

One row per job id, kept after it ran: the household sees every job ever offered (`hems jobs list`,
the dashboard's Jobs screen), what was decided and by whom, why a job was refused or stopped, and
the exact result document that left (or will leave) the box. A finished result waits in its row
until the research server acknowledges it (the job outbox), backing off like telemetry's outbox.

Statuses: ``waiting`` (for the household's answer), ``approved`` (to run), ``refused``,
``failed`` (ran and stopped: over budget, an error), ``done`` (result waiting to be sent),
``sent`` (acknowledged), ``expired`` (not run before its expiry). Times are ISO-8601 UTC text.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hems.telemetry.outbox import transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS research_job (
    id TEXT PRIMARY KEY,
    received_at TEXT NOT NULL,
    payload TEXT,
    signature TEXT,
    title TEXT NOT NULL DEFAULT '',
    researcher TEXT NOT NULL DEFAULT '',
    categories TEXT NOT NULL DEFAULT '[]',
    expires_at TEXT,
    status TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT,
    decided_at TEXT NOT NULL,
    ran_at TEXT,
    usage TEXT,
    result TEXT,
    notes TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    sent_at TEXT
)
"""
STATUSES = ("waiting", "approved", "refused", "failed", "done", "sent", "expired")


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class JobRecord:
    id: str
    received_at: datetime
    title: str
    researcher: str
    categories: tuple[str, ...]
    expires_at: datetime | None
    status: str
    decision: str  #: allow | ask | never | household | check (refused by the box's checks)
    reason: str | None  #: why refused or stopped; what the household decided
    decided_at: datetime
    ran_at: datetime | None
    usage: dict[str, Any] | None  #: the totem consumed: cpu_s, rows_read, output_cells, peak_rss_mb
    result: dict[str, Any] | None  #: the result document exactly as uploaded
    notes: dict[str, Any] | None  #: local only: groups suppressed below k, ...
    payload: str | None  #: the job's JSON text as received (signed)
    signature: str | None
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    sent_at: datetime | None

    def to_dict(self, *, full: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "researcher": self.researcher,
            "categories": list(self.categories),
            "status": self.status,
            "decision": self.decision,
            "reason": self.reason,
            "received_at": _iso(self.received_at),
            "decided_at": _iso(self.decided_at),
            "expires_at": _iso(self.expires_at),
            "ran_at": _iso(self.ran_at),
            "sent_at": _iso(self.sent_at),
            "usage": self.usage,
            "last_error": self.last_error,
        }
        if full:
            out["job"] = json.loads(self.payload) if self.payload else None
            out["result"] = self.result
            out["notes"] = self.notes
        return out


_COLUMNS = (
    "id, received_at, title, researcher, categories, expires_at, status, decision, reason, decided_at, "
    "ran_at, usage, result, notes, payload, signature, attempts, next_attempt_at, last_error, sent_at"
)


def _record(row: tuple[Any, ...]) -> JobRecord:
    (
        jid,
        received,
        title,
        researcher,
        cats,
        expires,
        status,
        decision,
        reason,
        decided,
        ran,
        usage,
        result,
        notes,
        payload,
        signature,
        attempts,
        next_at,
        last_error,
        sent,
    ) = row
    return JobRecord(
        jid,
        _time(received) or datetime.fromtimestamp(0, UTC),
        title,
        researcher,
        tuple(json.loads(cats)),
        _time(expires),
        status,
        decision,
        reason,
        _time(decided) or datetime.fromtimestamp(0, UTC),
        _time(ran),
        json.loads(usage) if usage else None,
        json.loads(result) if result else None,
        json.loads(notes) if notes else None,
        payload,
        signature,
        attempts,
        _time(next_at),
        last_error,
        _time(sent),
    )


def read_records(connection: sqlite3.Connection) -> list[JobRecord]:
    """Every job, newest first, from a connection that may be read-only (no table yet: none)."""
    exists = connection.execute(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'research_job'"
    ).fetchone()
    if exists is None:
        return []
    rows = connection.execute(f"SELECT {_COLUMNS} FROM research_job ORDER BY received_at DESC, id").fetchall()
    return [_record(r) for r in rows]


class JobStore:
    """The ``research_job`` table on a sqlite3 connection (the storage's, shared under its lock)."""

    def __init__(self, connection: sqlite3.Connection, lock: threading.RLock | None = None) -> None:
        self.db = connection
        self.lock = lock or threading.RLock()
        with self._tx():
            self.db.execute(_SCHEMA)

    def _tx(self) -> AbstractContextManager[None]:
        return transaction(self.db, self.lock)

    def known(self, job_id: str) -> bool:
        with self.lock:
            return (
                self.db.execute("SELECT 1 FROM research_job WHERE id = ?", (job_id,)).fetchone() is not None
            )

    def add(
        self,
        job_id: str,
        now: datetime,
        *,
        status: str,
        decision: str,
        reason: str | None,
        payload: str | None,
        signature: str | None,
        title: str = "",
        researcher: str = "",
        categories: tuple[str, ...] = (),
        expires_at: datetime | None = None,
    ) -> bool:
        """Record a job the first time it is seen; False (nothing changed) when it is known."""
        with self._tx():
            cur = self.db.execute(
                "INSERT OR IGNORE INTO research_job (id, received_at, payload, signature, title, researcher,"
                " categories, expires_at, status, decision, reason, decided_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    _iso(now),
                    payload,
                    signature,
                    title,
                    researcher,
                    json.dumps(list(categories)),
                    _iso(expires_at),
                    status,
                    decision,
                    reason,
                    _iso(now),
                ),
            )
        return cur.rowcount == 1

    def get(self, job_id: str) -> JobRecord | None:
        with self.lock:
            row = self.db.execute(f"SELECT {_COLUMNS} FROM research_job WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _record(row)

    def records(self, status: str | None = None) -> list[JobRecord]:
        sql = f"SELECT {_COLUMNS} FROM research_job"
        args: tuple[Any, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            args = (status,)
        with self.lock:
            rows = self.db.execute(sql + " ORDER BY received_at DESC, id", args).fetchall()
        return [_record(r) for r in rows]

    def decide(self, job_id: str, now: datetime, status: str, decision: str, reason: str | None) -> None:
        with self._tx():
            self.db.execute(
                "UPDATE research_job SET status = ?, decision = ?, reason = ?, decided_at = ? WHERE id = ?",
                (status, decision, reason, _iso(now), job_id),
            )

    def finish(
        self,
        job_id: str,
        now: datetime,
        *,
        status: str,
        reason: str | None,
        usage: dict[str, Any] | None,
        result: dict[str, Any] | None,
        notes: dict[str, Any] | None,
    ) -> None:
        """Record a run: ``done`` with its result (due for upload now) or ``failed`` with the reason."""
        with self._tx():
            self.db.execute(
                "UPDATE research_job SET status = ?, reason = COALESCE(?, reason), ran_at = ?, usage = ?,"
                " result = ?, notes = ?, next_attempt_at = ? WHERE id = ?",
                (
                    status,
                    reason,
                    _iso(now),
                    json.dumps(usage) if usage else None,
                    json.dumps(result, sort_keys=True) if result else None,
                    json.dumps(notes) if notes else None,
                    _iso(now),
                    job_id,
                ),
            )

    def due_results(self, now: datetime, limit: int) -> list[JobRecord]:
        with self.lock:
            rows = self.db.execute(
                f"SELECT {_COLUMNS} FROM research_job WHERE status = 'done' AND next_attempt_at <= ?"
                " ORDER BY ran_at LIMIT ?",
                (_iso(now), limit),
            ).fetchall()
        return [_record(r) for r in rows]

    def mark_sent(self, job_id: str, now: datetime) -> None:
        with self._tx():
            self.db.execute(
                "UPDATE research_job SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
                (_iso(now), job_id),
            )

    def mark_send_failed(
        self, job_id: str, now: datetime, error: str, base: timedelta, ceiling: timedelta
    ) -> None:
        with self._tx():
            row = self.db.execute("SELECT attempts FROM research_job WHERE id = ?", (job_id,)).fetchone()
            attempts = (row[0] if row else 0) + 1
            delay = min(base * 2 ** (attempts - 1), ceiling)
            self.db.execute(
                "UPDATE research_job SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                (attempts, _iso(now + delay), error, job_id),
            )

    def expire(self, now: datetime) -> list[str]:
        """Jobs still waiting or approved past their expiry become ``expired``; their ids."""
        with self._tx():
            rows = self.db.execute(
                "SELECT id FROM research_job WHERE status IN ('waiting', 'approved') AND expires_at <= ?",
                (_iso(now),),
            ).fetchall()
            self.db.execute(
                "UPDATE research_job SET status = 'expired', reason = 'expired before it ran'"
                " WHERE status IN ('waiting', 'approved') AND expires_at <= ?",
                (_iso(now),),
            )
        return [r[0] for r in rows]

    def drop_unsent_results(self) -> int:
        """Consent withdrawn: results not yet sent never will be (the rows stay, marked refused)."""
        with self._tx():
            cur = self.db.execute(
                "UPDATE research_job SET status = 'refused', decision = 'household',"
                " reason = 'consent withdrawn before the result was sent', result = NULL"
                " WHERE status IN ('done', 'waiting', 'approved')"
            )
        return cur.rowcount
