"""DIR/jobs.sqlite: the research jobs the server published and the results the boxes sent back.

``jobs`` keeps each accepted job as it was signed (its JSON text, the signature and the signing
key's id), who submitted it and whether it is still offered. ``results`` keeps the latest result
document of each enrolled household per job, keyed by the enrolment (never by anything a researcher
sees): a household that resigns has its rows removed and the file rewritten (`forget_household`), and
a box that sends its result twice replaces it, so each home counts once.

One connection per use, WAL with ``synchronous=FULL`` and ``secure_delete`` (like server.sqlite).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from research.paths import DataDir
from research.serverdb import compact_file
from wire.jobs import Job, SignedJob

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    payload TEXT NOT NULL,
    signature TEXT NOT NULL,
    key_id TEXT NOT NULL,
    submitter TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'published',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE TABLE IF NOT EXISTS results (
    job_id TEXT NOT NULL REFERENCES jobs(id),
    enrolment TEXT NOT NULL,
    result TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (job_id, enrolment)
);
"""


@dataclass(frozen=True)
class JobRecord:
    """A published (or closed) job and how many homes have answered it."""

    job: Job
    signed: SignedJob
    submitter: str
    status: str  #: ``published`` (offered to the boxes) or ``closed``
    created_at: str
    homes: int  #: households whose result is held

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.job.id,
            "title": self.job.title,
            "researcher": self.job.researcher,
            "submitter": self.submitter,
            "status": self.status,
            "created_at": self.created_at,
            "expires_at": self.job.expires_at.isoformat(),
            "categories": list(self.job.categories),
            "k": self.job.k,
            "homes": self.homes,
        }


@contextmanager
def open_jobs_db(data: DataDir) -> Iterator[sqlite3.Connection]:
    """A connection to DIR/jobs.sqlite (created with its schema on first use)."""
    data.ensure()
    conn = sqlite3.connect(data.jobs_db, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA secure_delete=ON")
        conn.executescript(SCHEMA)
        conn.row_factory = sqlite3.Row
        yield conn
    finally:
        conn.close()


class DuplicateJob(ValueError):
    pass


def add_job(data: DataDir, signed: SignedJob, job: Job, submitter: str, now: datetime) -> None:
    with open_jobs_db(data) as db:
        if db.execute("SELECT 1 FROM jobs WHERE id = ?", (job.id,)).fetchone():
            raise DuplicateJob(f"a job with id {job.id!r} exists already: give the new one another id")
        db.execute(
            "INSERT INTO jobs (id, payload, signature, key_id, submitter, created_at, expires_at) "
            "VALUES (?,?,?,?,?,?,?)",
            (
                job.id,
                signed.payload,
                signed.signature,
                signed.key_id,
                submitter,
                now.isoformat(),
                job.expires_at.isoformat(),
            ),
        )


def _record(db: sqlite3.Connection, row: sqlite3.Row) -> JobRecord:
    homes = db.execute("SELECT count(*) FROM results WHERE job_id = ?", (row["id"],)).fetchone()[0]
    signed = SignedJob(row["payload"], row["signature"], row["key_id"])
    return JobRecord(
        Job.from_json(row["payload"]), signed, row["submitter"], row["status"], row["created_at"], int(homes)
    )


def get_job(data: DataDir, job_id: str) -> JobRecord | None:
    with open_jobs_db(data) as db:
        row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _record(db, row)


def list_jobs(data: DataDir, *, offered_at: datetime | None = None) -> list[JobRecord]:
    """Every job, oldest first; with ``offered_at`` only the published ones not yet expired then."""
    with open_jobs_db(data) as db:
        rows = db.execute("SELECT * FROM jobs ORDER BY created_at, id").fetchall()
        records = [_record(db, row) for row in rows]
    if offered_at is not None:
        records = [r for r in records if r.status == "published" and r.job.expires_at > offered_at]
    return records


def close_job(data: DataDir, job_id: str, now: datetime) -> bool:
    """Stop offering a job (its results stay); False when there is no such job."""
    with open_jobs_db(data) as db:
        cur = db.execute(
            "UPDATE jobs SET status = 'closed', closed_at = ? WHERE id = ?", (now.isoformat(), job_id)
        )
        return cur.rowcount > 0


def put_result(data: DataDir, job_id: str, enrolment: str, result: dict[str, Any], now: datetime) -> int:
    """Keep ``enrolment``'s result (replacing an earlier one); the number of homes now held."""
    text = json.dumps(result, sort_keys=True, separators=(",", ":"))
    with open_jobs_db(data) as db:
        db.execute(
            "INSERT INTO results (job_id, enrolment, result, received_at) VALUES (?,?,?,?) "
            "ON CONFLICT (job_id, enrolment) DO UPDATE SET result = excluded.result, "
            "received_at = excluded.received_at",
            (job_id, enrolment, text, now.isoformat()),
        )
        return int(db.execute("SELECT count(*) FROM results WHERE job_id = ?", (job_id,)).fetchone()[0])


def results_of(data: DataDir, job_id: str) -> list[dict[str, Any]]:
    """The result documents held for a job, one per home (in no meaningful order)."""
    with open_jobs_db(data) as db:
        rows = db.execute("SELECT result FROM results WHERE job_id = ? ORDER BY rowid", (job_id,)).fetchall()
    return [json.loads(r["result"]) for r in rows]


def forget_household(data: DataDir, enrolment: str) -> int:
    """Remove every result of a resigning household and rewrite the file; the rows removed."""
    if not data.jobs_db.exists():
        return 0
    with open_jobs_db(data) as db:
        removed = db.execute("DELETE FROM results WHERE enrolment = ?", (enrolment,)).rowcount
        compact_file(db)
    return int(removed)
