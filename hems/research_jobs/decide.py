"""The household's answer to a research job: approve or refuse (CLI, dashboard). Light: no sqlglot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hems.research_jobs.store import JobStore

EVENT = "research_job"  #: kind of the events logged in the box's event log


def log(storage: Any, now: datetime, level: str, message: str, job_id: str, **data: Any) -> None:
    """Record a research-job event in the box's event log (skipped on a read-only storage)."""
    log_event = getattr(storage, "log_event", None)
    if log_event is not None and not getattr(storage, "readonly", False):
        log_event(now, EVENT, level, message, {"job_id": job_id, **data})


class DecisionError(ValueError):
    """The household's answer does not apply to that job (unknown id, not waiting)."""


def answer(storage: Any, job_id: str, approve: bool, now: datetime, why: str | None = None) -> str:
    """The household approves or refuses a job; returns the new status.

    Approving runs it at the box's next round (or `hems jobs sync`); refusing is final. A job that
    was allowed without asking can still be refused before it ran.
    """
    store = JobStore(storage.connection, getattr(storage, "lock", None))
    record = store.get(job_id)
    if record is None:
        raise DecisionError(f"no research job {job_id!r} on this box (see `hems jobs list`)")
    if record.status not in ("waiting", "approved") or (approve and record.status != "waiting"):
        raise DecisionError(f"job {job_id} is {record.status}: only a waiting job can be approved or refused")
    status = "approved" if approve else "refused"
    reason = (
        "approved by the household" if approve else f"refused by the household{': ' + why if why else ''}"
    )
    store.decide(job_id, now, status, "household", reason)
    log(storage, now, "info", f"research job {job_id} {reason}", job_id, status=status)
    return status
