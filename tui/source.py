"""Where the dashboard's data comes from: the `DataSource` Protocol and the real one.

Every method blocks (file and database I/O) and is called only from thread workers, never from an
event handler. The real source, `LocalSource`, reads

- the live state file the daemon replaces atomically every cycle (``/run/hems/state.json``), and
- the daemon's database, read-only (`hems.storage.Storage`), for history, the plan and events.

Tests inject a canned source with the same four methods.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

DEFAULT_STATE_PATH = "/run/hems/state.json"


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One slot of a stored series: its UTC start and the mean over it (in the channel's unit)."""

    time: datetime
    mean: float


@dataclass(frozen=True, slots=True)
class EventRow:
    """An event the daemon logged: kind "alert" (a warning) or "action" (what the box did)."""

    time: datetime
    kind: str
    level: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JobRow:
    """A researcher's job as the box logged it (hems.research_jobs.store), for the Jobs screen."""

    id: str
    title: str
    researcher: str
    categories: tuple[str, ...]
    status: str
    reason: str | None
    received_at: datetime
    usage: dict[str, Any] | None
    groups: int | None  #: groups in the result that left (or will leave) the box


class SourceUnavailable(Exception):
    """The database (or file) cannot be read now; the message says what and where."""


class DataSource(Protocol):
    def read_state(self) -> dict[str, Any] | None:
        """The newest live state document, or None when there is none (no file, unreadable)."""
        ...

    def series(self, channel: str, start: datetime, end: datetime, resolution: str) -> list[SeriesPoint]:
        """Slots of ``channel`` starting in [start, end); raises `SourceUnavailable`."""
        ...

    def get_doc(self, key: str) -> Any:
        """A stored JSON document ("plan", "pv_forecast") or None; raises `SourceUnavailable`."""
        ...

    def events(self, start: datetime, end: datetime, kind: str | None = None) -> list[EventRow]:
        """Events in [start, end), oldest first; raises `SourceUnavailable`."""
        ...


def read_state_file(path: Path) -> dict[str, Any] | None:
    """The state file's JSON object, or None when it is missing, partial or not an object."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class LocalSource:
    """The state file plus the database opened read-only (lazily, re-opened after a failure)."""

    def __init__(self, state_path: str | Path = DEFAULT_STATE_PATH, db_path: str | Path | None = None):
        self.state_path = Path(state_path)
        self.db_path = Path(db_path) if db_path is not None else None
        self._lock = threading.Lock()
        self._storage: Any = None

    def read_state(self) -> dict[str, Any] | None:
        return read_state_file(self.state_path)

    def _db(self) -> Any:
        if self.db_path is None:
            raise SourceUnavailable("no database configured (hems tui --db PATH or --config FILE)")
        with self._lock:
            if self._storage is None:
                from hems.storage import Storage

                try:
                    self._storage = Storage.open(self.db_path, readonly=True)
                except Exception as exc:  # sqlite3.Error, a missing file
                    raise SourceUnavailable(f"{self.db_path}: cannot open database: {exc}") from None
            return self._storage

    def _call(self, fn: str, *args: Any) -> Any:
        db = self._db()
        try:
            return getattr(db, fn)(*args)
        except Exception as exc:  # a database being replaced or locked: re-open next time
            with self._lock:
                self._storage = None
            raise SourceUnavailable(f"{self.db_path}: {exc}") from None

    def series(self, channel: str, start: datetime, end: datetime, resolution: str) -> list[SeriesPoint]:
        return [SeriesPoint(p.time, p.mean) for p in self._call("series", channel, start, end, resolution)]

    def get_doc(self, key: str) -> Any:
        return self._call("get_doc", key)

    def events(self, start: datetime, end: datetime, kind: str | None = None) -> list[EventRow]:
        return [
            EventRow(e.time, e.kind, e.level, e.message, dict(e.data or {}))
            for e in self._call("events", start, end, kind)
        ]

    def research_jobs(self) -> list[JobRow]:
        """Every research job the box logged, newest first (none before the first was offered)."""
        from hems.research_jobs.store import read_records

        return [
            JobRow(
                r.id,
                r.title,
                r.researcher,
                r.categories,
                r.status,
                r.reason,
                r.received_at,
                r.usage,
                None if r.result is None else len(r.result.get("groups", [])),
            )
            for r in self._call_on_connection(read_records)
        ]

    def answer_job(self, job_id: str, approve: bool, now: datetime) -> str:
        """The household's answer to a waiting job, written to the database (opened for that alone)."""
        from hems.research_jobs.decide import DecisionError, answer
        from hems.storage import Storage

        if self.db_path is None:
            raise SourceUnavailable("no database configured (hems tui --db PATH or --config FILE)")
        try:
            with Storage.open(self.db_path) as st:
                return answer(st, job_id, approve, now)
        except DecisionError as exc:
            raise SourceUnavailable(str(exc)) from None
        except Exception as exc:  # a locked or missing database
            raise SourceUnavailable(f"{self.db_path}: cannot record the answer: {exc}") from None

    def _call_on_connection(self, fn: Any) -> Any:
        db = self._db()
        try:
            return fn(db.connection)
        except Exception as exc:
            with self._lock:
                self._storage = None
            raise SourceUnavailable(f"{self.db_path}: {exc}") from None

    def close(self) -> None:
        with self._lock:
            if self._storage is not None:
                self._storage.close()
                self._storage = None
