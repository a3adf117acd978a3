"""The box's daily research-jobs round: fetch, verify, check, decide, run, send.

`sync` is what the daemon calls once a day after telemetry (and `hems jobs sync` on demand):

1. nothing happens without telemetry consent (a withdrawal also drops results not yet sent) and the
   research server's public key in [research_jobs] ``server_key``;
2. ``GET {endpoint}/jobs`` (docs/research-jobs.md); every job not seen before is recorded with its
   decision: refused with the reason (bad or missing signature, malformed, expired, a budget above
   the box's ceilings, a failed SQL check, differential privacy this box cannot add, or the
   household's "never"), ``waiting`` for the household ("ask"), or ``approved`` ("allow");
3. every approved job runs in its watched worker (`hems.research_jobs.runner`);
4. finished results are sent, ``POST {endpoint}/jobs/{id}/results``, until acknowledged.

It never raises for server, network or job trouble: `SyncResult` says what happened, and the
``research_job`` table (`hems.research_jobs.store`) keeps every job, decision and result.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hems import __version__
from hems.research_jobs import dp
from hems.research_jobs.config import ResearchJobsConfig
from hems.research_jobs.decide import log as _log
from hems.research_jobs.facts import wanted_channels
from hems.research_jobs.runner import run_checked
from hems.research_jobs.signature import SignatureRefused, verify
from hems.research_jobs.store import JobStore
from hems.telemetry import transport
from hems.telemetry.config import TelemetryConfig
from hems.telemetry.outbox import Outbox
from hems.telemetry.upload import consent_blocker
from wire.errors import WireError
from wire.jobcheck import JobRefused, check_job
from wire.jobs import LIST_SCHEMA, Job, SignedJob
from wire.results import JobResult


@dataclass
class SyncResult:
    received: list[str] = field(default_factory=list)  #: job ids seen for the first time
    refused: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  #: for the household's answer
    ran: list[str] = field(default_factory=list)  #: finished with a result
    failed: list[str] = field(default_factory=list)  #: stopped (over budget, error, no group >= k)
    sent: list[str] = field(default_factory=list)
    stopped: str | None = None  #: why nothing was fetched or sent
    error: str | None = None  #: the last server or network problem

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def endpoint_of(telemetry: TelemetryConfig) -> transport.Endpoint | None:
    if not telemetry.endpoint or not telemetry.token:
        return None
    return transport.Endpoint(telemetry.endpoint, telemetry.token, telemetry.ca_file, telemetry.timeout_s)


def admit(
    entry: Any, config: ResearchJobsConfig, store: JobStore, storage: Any, now: datetime
) -> tuple[str, str] | None:
    """Record one offered job with its decision; ``(id, status)``, or None when already known."""
    try:
        signed = SignedJob.from_dict(entry)
    except WireError as exc:
        raw = json.dumps(entry, sort_keys=True, default=str).encode()
        job_id = "unsigned-" + hashlib.sha256(raw).hexdigest()[:12]
        return _refuse(store, storage, now, job_id, f"not a signed job: {exc}", None, None, None)
    try:
        assert config.server_key is not None
        verify(signed, config.server_key)
    except SignatureRefused as exc:
        job_id = "unverified-" + hashlib.sha256(signed.payload.encode()).hexdigest()[:12]
        return _refuse(store, storage, now, job_id, str(exc), signed, None, None)
    try:
        job = Job.from_json(signed.payload)
    except WireError as exc:
        job_id = "malformed-" + hashlib.sha256(signed.payload.encode()).hexdigest()[:12]
        return _refuse(store, storage, now, job_id, f"malformed job: {exc}", signed, None, None)
    if store.known(job.id):
        return None
    reason = refusal(job, config, now)
    if reason is not None:
        return _refuse(store, storage, now, job.id, reason, signed, job, "check")
    decision = config.decide(job.categories)
    if decision == "never":
        never = [c for c in job.categories if config.decision_for(c) == "never"]
        why = f"the household never runs jobs of category {', '.join(never)} ([research_jobs])"
        return _refuse(store, storage, now, job.id, why, signed, job, "never")
    status = "approved" if decision == "allow" else "waiting"
    why = "allowed by [research_jobs]" if decision == "allow" else "waiting for the household's answer"
    _record(store, now, job.id, status, decision, why, signed, job)
    _log(storage, now, "info", f"research job {job.id} ({job.title}): {why}", job.id, status=status)
    return job.id, status


def refusal(job: Job, config: ResearchJobsConfig, now: datetime) -> str | None:
    """Why this box refuses ``job`` before anyone is asked, or None."""
    if job.expires_at <= now:
        return f"expired on {job.expires_at:%Y-%m-%d %H:%M} UTC"
    b = job.budget
    for asked, ceiling, key in (
        (b.cpu_seconds, config.max_cpu_seconds, "max_cpu_seconds"),
        (b.rows_read, config.max_rows_read, "max_rows_read"),
        (b.output_cells, config.max_output_cells, "max_output_cells"),
        (b.memory_mb, config.max_memory_mb, "max_memory_mb"),
    ):
        if asked > ceiling:
            what = key.removeprefix("max_")
            return (
                f"its budget asks for {what} {asked:g}, this box allows {ceiling:g} ([research_jobs] {key})"
            )
    if config.require_privacy and job.privacy is None:
        return "the household runs only jobs with differential privacy ([research_jobs] require_privacy)"
    if job.privacy is not None and not dp.available():
        return "it asks for differential privacy, and this box has no OpenDP to add the noise (hems[dp])"
    try:
        check_job(job)
    except JobRefused as exc:
        return str(exc)
    return None


def _record(
    store: JobStore,
    now: datetime,
    job_id: str,
    status: str,
    decision: str,
    reason: str,
    signed: SignedJob | None,
    job: Job | None,
) -> None:
    store.add(
        job_id,
        now,
        status=status,
        decision=decision,
        reason=reason,
        payload=None if signed is None else signed.payload,
        signature=None if signed is None else signed.signature,
        title="" if job is None else job.title,
        researcher="" if job is None else job.researcher,
        categories=() if job is None else job.categories,
        expires_at=None if job is None else job.expires_at,
    )


def _refuse(
    store: JobStore,
    storage: Any,
    now: datetime,
    job_id: str,
    reason: str,
    signed: SignedJob | None,
    job: Job | None,
    decision: str | None,
) -> tuple[str, str] | None:
    if store.known(job_id):
        return None
    _record(store, now, job_id, "refused", decision or "check", reason, signed, job)
    _log(storage, now, "warning", f"research job {job_id} refused: {reason}", job_id, status="refused")
    return job_id, "refused"


def run_approved(
    config: ResearchJobsConfig, store: JobStore, storage: Any, facts: dict[str, Any], now: datetime
) -> tuple[list[str], list[str]]:
    """Run every approved job; ``(ids with a result, ids that failed)``."""
    ran: list[str] = []
    failed: list[str] = []
    for record in sorted(store.records("approved"), key=lambda r: r.decided_at):
        job = Job.from_json(record.payload or "")
        reason = refusal(job, config, now)
        if reason is None:
            reason = _run_one(job, config, store, storage, facts, now)
        else:
            store.finish(job.id, now, status="failed", reason=reason, usage=None, result=None, notes=None)
        (failed if reason else ran).append(job.id)
        level, what = (
            ("warning", f"stopped: {reason}") if reason else ("info", "ran; its result waits to be sent")
        )
        _log(storage, now, level, f"research job {job.id} {what}", job.id)
    return ran, failed


def _run_one(
    job: Job, config: ResearchJobsConfig, store: JobStore, storage: Any, facts: dict[str, Any], now: datetime
) -> str | None:
    checked = check_job(job)
    channels = wanted_channels(storage.channels(), job.channels, config.channels)
    k = max(job.k, config.k_min)
    outcome = run_checked(checked, storage.path, channels=channels, facts=facts, k=k)
    notes = {"k": k, "groups_suppressed": outcome.suppressed, "channels": channels, "killed": outcome.killed}
    if not outcome.ok:
        store.finish(
            job.id, now, status="failed", reason=outcome.reason, usage=outcome.usage, result=None, notes=notes
        )
        return outcome.reason
    if not outcome.groups:
        reason = f"no group aggregates at least k = {k} rows: nothing may leave the box"
        store.finish(
            job.id, now, status="failed", reason=reason, usage=outcome.usage, result=None, notes=notes
        )
        return reason
    usage = {key: v for key, v in outcome.usage.items() if key in ("cpu_s", "rows_read", "output_cells")}
    groups = {tuple(g["key"]): g["values"] for g in outcome.groups}
    result = JobResult(job.id, groups, usage, outcome.privacy, f"hems {__version__}").to_dict(job)
    JobResult.from_dict(result, job)  # what leaves the box is exactly what the format allows
    store.finish(job.id, now, status="done", reason=None, usage=outcome.usage, result=result, notes=notes)
    return None


def send_results(
    telemetry: TelemetryConfig,
    store: JobStore,
    endpoint: transport.Endpoint,
    now: datetime,
    result: SyncResult,
) -> None:
    base = timedelta(minutes=telemetry.retry_base_minutes)
    ceiling = timedelta(hours=telemetry.retry_max_hours)
    for record in store.due_results(now, limit=telemetry.max_batches_per_attempt):
        body = gzip.compress(
            json.dumps(record.result, sort_keys=True, separators=(",", ":")).encode(), mtime=0
        )
        try:
            answer = transport.post(endpoint, f"/jobs/{record.id}/results", body, f"job-result:{record.id}")
            if answer.get("job_id") != record.id:
                raise transport.TransientError(
                    f"the server acknowledged {answer.get('job_id')!r}, not {record.id!r}"
                )
        except transport.TokenRejected as exc:
            result.error = str(exc)
            return
        except transport.ServerRefused as exc:
            store.mark_send_failed(record.id, now, str(exc), base, ceiling)
            result.error = f"{record.id}: {exc}"
            continue
        except transport.TransportError as exc:
            store.mark_send_failed(record.id, now, str(exc), base, ceiling)
            result.error = str(exc)
            return
        store.mark_sent(record.id, now)
        result.sent.append(record.id)


def sync(
    telemetry: TelemetryConfig,
    config: ResearchJobsConfig,
    storage: Any,
    now: datetime,
    facts: dict[str, Any],
    *,
    fetch: bool = True,
) -> SyncResult:
    """One round: fetch and admit new jobs, run the approved ones, send finished results."""
    result = SyncResult()
    store = JobStore(storage.connection, getattr(storage, "lock", None))
    blocker = consent_blocker(telemetry, Outbox(storage.connection, getattr(storage, "lock", None)))
    if blocker is not None:
        if store.drop_unsent_results():
            _log(storage, now, "info", "research job results not yet sent were dropped: no consent", "-")
        result.stopped = blocker
        return result
    if config.server_key is None:
        result.stopped = "no [research_jobs] server_key: jobs could not be verified, so none are fetched"
        return result
    endpoint = endpoint_of(telemetry)
    if endpoint is None:
        result.stopped = "telemetry.endpoint and telemetry.token must both be set to fetch research jobs"
        return result
    if fetch:
        try:
            offered = transport.get(endpoint, "/jobs")
            if offered.get("schema") != LIST_SCHEMA or not isinstance(offered.get("jobs"), list):
                raise transport.ServerRefused(f"the job list is not {LIST_SCHEMA!r}")
            entries: list[Any] = offered["jobs"]  # type: ignore[assignment]
            for entry in entries:
                admitted = admit(entry, config, store, storage, now)
                if admitted is not None:
                    result.received.append(admitted[0])
                    {"refused": result.refused, "waiting": result.waiting}.get(admitted[1], []).append(
                        admitted[0]
                    )
        except transport.TransportError as exc:
            result.error = str(exc)
    for job_id in store.expire(now):
        _log(storage, now, "info", f"research job {job_id} expired before it ran", job_id)
    result.ran, result.failed = run_approved(config, store, storage, facts, now)
    if result.error is None or not result.error.startswith("the research server rejected the token"):
        send_results(telemetry, store, endpoint, now, result)
    return result
