"""Storing a received batch once and durably, and answering a deletion request.

`Receiver.batch` runs in a worker thread: validate (nothing stored if it fails), check the batch
against the token's enrolment, then — under the store lock — look up the batch index, write the
day's Parquet files (fsync'd, atomic) and only then commit the index row. The caller acknowledges
after `batch` returns, so an acknowledged batch is on disk; a batch already in the index is
acknowledged again without being stored twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from research import conformity
from research.auth import Household
from research.ingest.validate import parse_batch
from research.paths import DataDir
from research.serverdb import connect_server_db
from research.store import layout
from research.store.tables import batches_table, readings_table
from research.store.writer import (
    DayCache,
    discard,
    merge_month,
    months_due,
    publish,
    replace_month,
    stage_day,
)
from wire.errors import WireError
from wire.telemetry import parse_deletion as parse_wire_deletion

log = logging.getLogger(__name__)


class Refused(Exception):
    """The request is refused with ``status`` and a reason; nothing of it was stored."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    """What one request and one token may send."""

    max_body_bytes: int = 16 * 1024 * 1024  #: gzip'd body [bytes]
    max_json_bytes: int = 128 * 1024 * 1024  #: once decompressed [bytes] (a gzip bomb stops here)
    requests_per_minute: float = 60.0  #: per token, sustained
    burst: int = 400  #: per token, at once (a backlog of a year after an outage)


@contextmanager
def store_lock(data: DataDir) -> Iterator[None]:
    """Exclusive across threads and processes (the server, `hems research resign`): store writes
    and deletions never interleave."""
    data.ensure()
    fd = os.open(data.root / ".store.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def decompress(body: bytes, limit: int) -> Any:
    """The JSON document of a gzip'd body, refusing more than ``limit`` bytes once decompressed."""
    return parse_json(inflate(body, limit))


def inflate(body: bytes, limit: int) -> bytes:
    """A gzip'd body's bytes, refusing more than ``limit`` bytes once decompressed."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        raw = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise Refused(400, "the body is not gzip data") from None
    if len(raw) > limit or inflater.unconsumed_tail:
        raise Refused(413, f"the body is larger than {limit} bytes once decompressed")
    return raw


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Refused(400, f"the body is not JSON: {exc}") from None


class Receiver:
    """Stores batches and carries out deletions for one data directory."""

    def __init__(self, data: DataDir, clock: Callable[[], datetime], limits: Limits) -> None:
        self.data = data
        self.clock = clock
        self.limits = limits
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._days = DayCache()  # the days just written, for their month's compaction

    def _db(self) -> sqlite3.Connection:
        """The server database, one connection kept open (used under ``self._lock``)."""
        if self._conn is None:
            self._conn = connect_server_db(self.data, shared=True)
        return self._conn

    def batch(self, household: Household, idempotency_key: str, body: bytes) -> str:
        """Store one gzip'd batch (or recognise it as stored); its batch id."""
        raw = inflate(body, self.limits.max_json_bytes)
        doc = parse_json(raw)
        try:
            batch = parse_batch(doc)
        except WireError as exc:
            raise Refused(422, str(exc)) from None
        if idempotency_key != batch.batch_id:
            raise Refused(
                400, f"Idempotency-Key {idempotency_key!r} is not the batch's id {batch.batch_id!r}"
            )
        now = self.clock()
        if batch.start > now:
            raise Refused(422, f"batch.day: {batch.day} has not begun yet")
        if batch.site.get("postcode_prefix") != household.prefix:
            raise Refused(
                422,
                f"batch.site.postcode_prefix: {batch.site.get('postcode_prefix')!r} is not the enrolled "
                f"prefix {household.prefix!r} (re-enrol after a move)",
            )
        digest = hashlib.sha256(raw).hexdigest()
        quality = conformity.check(batch)
        tables = {"readings": readings_table(batch), "batches": batches_table(batch, now, quality)}
        # written and fsync'd before the lock: under it, only the moves and the index row
        staged = stage_day(self.data.staging, self.data.store, tables, batch.household_id, batch.day)
        due: list[tuple[str, str]] = []
        try:
            with self._lock, store_lock(self.data):
                db = self._db()
                self._bind(db, household, batch.household_id)
                key = (batch.batch_id,)
                if db.execute("SELECT 1 FROM batches WHERE batch_id = ?", key).fetchone():
                    db.execute("UPDATE batches SET repeats = repeats + 1 WHERE batch_id = ?", key)
                    return batch.batch_id
                publish(staged, self._days)
                day = batch.day.isoformat()
                self._index(db, household, batch.batch_id, batch.household_id, day, digest, now)
                # a month is compacted once its last day is in (and any earlier month with daily files)
                tomorrow = layout.month_of(batch.day + timedelta(days=1))
                due = months_due(self.data.store, batch.household_id, tomorrow)
        finally:
            discard(staged)  # what was not moved into the store (a refusal, a repeat, a failure)
        for table, month in due:
            self._compact(batch.household_id, table, month)
        return batch.batch_id

    def _compact(self, household_id: str, table: str, month: str) -> None:
        """Merge a month outside the store lock, put it in place under it. The batch is stored and
        acknowledged whatever happens here: a month not compacted now is at a later upload."""
        try:
            merged = merge_month(self.data.staging, self.data.store, table, household_id, month, self._days)
            if merged is None:
                return
            try:
                with self._lock, store_lock(self.data):
                    replace_month(merged)
            finally:
                merged.tmp.unlink(missing_ok=True)
        except Exception:
            log.exception("compacting %s %s %s failed; a later upload retries", table, household_id, month)

    def forget(self, household_id: str) -> None:
        """Drop what is held in memory of a household whose data was deleted."""
        with self._lock:
            self._days.forget_household(household_id)

    def _index(
        self,
        db: sqlite3.Connection,
        household: Household,
        batch_id: str,
        household_id: str,
        day: str,
        digest: str,
        now: datetime,
    ) -> None:
        """Commit the batch's index row (the files are on disk): from now on it is acknowledged."""
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT INTO batches (batch_id, household_id, day, received_at, body_sha256) "
                "VALUES (?,?,?,?,?)",
                (batch_id, household_id, day, now.isoformat(), digest),
            )
            db.execute(
                "UPDATE enrolments SET last_upload_at = ? WHERE enrolment = ?",
                (now.isoformat(), household.enrolment),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")  # the kept connection must not stay inside a transaction
            raise

    def _bind(self, db: Any, household: Household, household_id: str) -> None:
        """The enrolment's first upload names its household id; later ones must use the same."""
        row = db.execute(
            "SELECT status, household_id FROM enrolments WHERE enrolment = ?", (household.enrolment,)
        ).fetchone()
        if row is None or row["status"] != "active":
            raise Refused(401, "the token has been revoked")
        if row["household_id"] == household_id:
            return
        if row["household_id"] is not None:
            raise Refused(403, "this token belongs to another household id")
        other = db.execute("SELECT 1 FROM enrolments WHERE household_id = ?", (household_id,)).fetchone()
        if other:
            raise Refused(403, "this household id belongs to another enrolment")
        db.execute(
            "UPDATE enrolments SET household_id = ? WHERE enrolment = ? AND household_id IS NULL",
            (household_id, household.enrolment),
        )


def parse_deletion(doc: Any, now: datetime) -> str:
    """The household id of a ``hems-deletion/1`` document (wire/telemetry.py's one definition)."""
    try:
        return parse_wire_deletion(doc, now)
    except WireError as exc:
        raise Refused(422, str(exc)) from None


def utc_now() -> datetime:
    return datetime.now(UTC)
