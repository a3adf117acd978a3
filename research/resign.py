"""A household resigns: everything held for it is deleted, its token revoked, a receipt kept.

Triggered by the box's deletion request (``POST /v1/deletions``, docs/telemetry.md) or the
administrator (`hems research resign ENROLMENT`). Order matters for a crash: the store's files go
first, then — in one transaction — the batch index rows, the household id and the token's status;
then the database file is rewritten (VACUUM) so no deleted row lingers in its pages, and the
register's contact details are removed. Re-running it after a crash finishes the job.

The receipt names the enrolment, who asked, when, and how much was removed — never the household
id or any of its values.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from research.ingest.service import store_lock
from research.jobs.store import forget_household as forget_job_results
from research.paths import DataDir
from research.register import forget_contact
from research.serverdb import compact_file, open_server_db
from research.store.delete import delete_household
from research.store.writer import clear_staging


class UnknownEnrolment(LookupError):
    pass


@dataclass(frozen=True)
class Receipt:
    enrolment: str
    requested_by: str  #: "household" (the box's deletion request) or "administrator"
    requested_at: str
    completed_at: str
    batches: int  #: days removed from the batch index
    files: int  #: Parquet files removed
    bytes: int  #: their size [bytes]
    what: tuple[str, ...]  #: what was removed, in words

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def resign(
    data: DataDir, enrolment: str, *, requested_by: str, requested_at: datetime, now: datetime
) -> Receipt:
    """Delete everything held for ``enrolment`` (idempotent: a second call removes nothing more)."""
    with store_lock(data), open_server_db(data) as db:
        row = db.execute("SELECT household_id FROM enrolments WHERE enrolment = ?", (enrolment,)).fetchone()
        if row is None:
            raise UnknownEnrolment(f"no enrolment {enrolment!r}")
        household_id = row["household_id"]
        files = size = batches = 0
        what = ["upload token revoked", "research job results", "contact details in the register"]
        if household_id is not None:
            removed = delete_household(data.store, household_id)
            files, size = removed.files, removed.bytes
            clear_staging(data.staging, own=False)  # what a crashed writer left, whoever's it was
            what[:0] = [f"store table {t!r} (every month)" for t in removed.tables]
        forget_job_results(data, enrolment)
        db.execute("BEGIN IMMEDIATE")
        if household_id is not None:
            batches = db.execute("DELETE FROM batches WHERE household_id = ?", (household_id,)).rowcount
            what.append("batch index")
        db.execute(
            "UPDATE enrolments SET status = 'resigned', household_id = NULL, last_upload_at = NULL, "
            "resigned_at = ? WHERE enrolment = ?",
            (now.isoformat(), enrolment),
        )
        receipt = Receipt(
            enrolment,
            requested_by,
            requested_at.isoformat(),
            now.isoformat(),
            batches,
            files,
            size,
            tuple(what),
        )
        db.execute(
            "INSERT INTO receipts (enrolment, requested_by, requested_at, completed_at, batches, files, "
            "bytes, what) VALUES (?,?,?,?,?,?,?,?)",
            (
                enrolment,
                requested_by,
                receipt.requested_at,
                receipt.completed_at,
                batches,
                files,
                size,
                json.dumps(what),
            ),
        )
        db.execute("COMMIT")
        compact_file(db)
    forget_contact(data, enrolment)
    return receipt


def enrolment_of_household(data: DataDir, household_id: str) -> str | None:
    with open_server_db(data) as db:
        row = db.execute(
            "SELECT enrolment FROM enrolments WHERE household_id = ?", (household_id,)
        ).fetchone()
    return None if row is None else str(row["enrolment"])
