"""What the server does with research jobs: accept and sign them, take the boxes' results, answer.

- `server_key`: the Ed25519 key in DIR/keys/jobs-ed25519.pem (created on first use, mode 0600);
  households put its public half in [research_jobs] ``server_key``.
- `submit`: a researcher's job document (with the SQL) is completed (``id``, ``created_at``,
  ``expires_at`` when missing), checked exactly as every box will check it (`wire.jobcheck`), signed
  and published; anything wrong is one `JobRejected` with the reason, and nothing is stored.
- `receive_result`: a box's result, checked against its job (`wire.results.JobResult`), kept as that
  household's latest. A result without any group is no contribution, and one with more cells than
  the job's budget declares (``output_cells``, counted as the box counts them) cannot come from a box
  that kept to it: both are refused. With differential privacy the result must state its noise as the
  job asks for it (mechanism, epsilon, a positive scale for every noisy count and sum), which the
  combined answer's ``noise_sd`` is computed from.
- `answer`: the combined answer (`research.jobs.combine`), released only when at least k homes
  contributed (the job's k, the server's ``--k``, never below `SERVER_K_MIN`); otherwise
  `NotReleased` says how many have.
"""

from __future__ import annotations

import contextlib
import math
import secrets
from datetime import datetime, timedelta
from typing import Any

from research.ingest.service import store_lock
from research.jobs.combine import SERVER_K_MIN, combine
from research.jobs.signing import (
    load_private_key,
    new_private_key,
    public_key_b64,
    save_private_key,
    sign_job,
)
from research.jobs.store import JobRecord, add_job, get_job, put_result, results_of
from research.paths import DataDir
from research.serverdb import open_server_db
from wire.errors import WireError
from wire.jobcheck import JobRefused, check_job
from wire.jobs import JOB_SCHEMA, Job
from wire.results import JobResult, partial_cells

KEY_FILE = "jobs-ed25519.pem"
DEFAULT_DAYS_OFFERED = 30


class JobRejected(ValueError):
    """A submitted job the server does not accept (the reason is the message)."""


class NotReleased(LookupError):
    """An answer that may not be released yet (the message says why)."""


class UnknownJob(LookupError):
    pass


class Revoked(LookupError):
    """The household resigned (its token revoked) while its result was on the way."""


def server_key(data: DataDir) -> Any:
    """The server's signing key, created on first use (DIR/keys, readable by the server's user only)."""
    path = data.keys / KEY_FILE
    if not path.exists():
        data.ensure()
        data.keys.mkdir(mode=0o700, exist_ok=True)
        data.keys.chmod(0o700)
        # made at the same moment by another process or thread: that one is the key
        with contextlib.suppress(FileExistsError):
            save_private_key(new_private_key(), path)
    return load_private_key(path)


def public_key(data: DataDir) -> str:
    """What households put in [research_jobs] ``server_key`` (base64 of the raw public key)."""
    return public_key_b64(server_key(data))


def complete(doc: dict[str, Any], now: datetime, researcher: str | None) -> dict[str, Any]:
    """The job document with what the server fills in: schema, id, creation and expiry times."""
    out = dict(doc)
    out.setdefault("schema", JOB_SCHEMA)
    out.setdefault("id", f"job-{now:%Y%m%d}-{secrets.token_hex(3)}")
    out["created_at"] = now.isoformat()
    out.setdefault("expires_at", (now + timedelta(days=DEFAULT_DAYS_OFFERED)).isoformat())
    out.setdefault("privacy", None)
    if researcher is not None:
        out["researcher"] = researcher
    return out


def submit(data: DataDir, doc: dict[str, Any], *, submitter: str, now: datetime) -> JobRecord:
    """Check, sign and publish a job; `JobRejected` with the reason when it cannot run on a box."""
    try:
        job = Job.from_dict(doc)
    except WireError as exc:
        raise JobRejected(str(exc)) from None
    if job.expires_at <= now:
        raise JobRejected(f"job.expires_at: {job.expires_at.isoformat()} has passed")
    try:
        check_job(job)
    except JobRefused as exc:
        raise JobRejected(f"every box would refuse it: {exc}") from None
    signed = sign_job(job, server_key(data))
    add_job(data, signed, job, submitter, now)
    record = get_job(data, job.id)
    assert record is not None
    return record


def result_cells(job: Job, result: JobResult) -> int:
    """The cells of a result as a box counts them against ``budget.output_cells``: each group's key
    values and output values (a quantile sketch: its buckets)."""
    return sum(
        len(job.keys) + sum(partial_cells(o, values[o.name]) for o in job.outputs)
        for values in result.groups.values()
    )


NOISY_PARTS = {"count": ("count",), "sum": ("sum",), "mean": ("sum", "count"), "histogram": ("counts",)}


def check_noise(job: Job, privacy: Any) -> None:
    """`WireError` unless a result's ``privacy`` states the job's noise in the form `combine` reads."""
    if job.privacy is None:
        return
    where = "result.privacy"
    if not isinstance(privacy, dict):
        raise WireError(f"{where}: expected an object")
    for name in ("mechanism", "epsilon"):
        if privacy.get(name) != getattr(job.privacy, name):
            raise WireError(f"{where}.{name}: the job asks for {getattr(job.privacy, name)!r}")
    scales = privacy.get("scales")
    wanted = {o.name: NOISY_PARTS.get(o.kind, ()) for o in job.outputs}
    wanted = {name: parts for name, parts in wanted.items() if parts}
    if not isinstance(scales, dict) or set(scales) != set(wanted):
        raise WireError(f"{where}.scales: expected the noise of {sorted(wanted)!r}")
    for name, parts in wanted.items():
        got = scales[name]
        if not isinstance(got, dict) or set(got) != set(parts):
            raise WireError(f"{where}.scales.{name}: expected the scale of {list(parts)!r}")
        for part in parts:
            value = got[part]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
                raise WireError(f"{where}.scales.{name}.{part}: expected a positive number, got {value!r}")


def receive_result(data: DataDir, job_id: str, enrolment: str, doc: Any, now: datetime) -> int:
    """Keep a box's result for ``job_id`` (`WireError` when it does not fit the job); homes held."""
    record = get_job(data, job_id)
    if record is None:
        raise UnknownJob(f"no research job {job_id!r}")
    job = record.job
    result = JobResult.from_dict(doc, job)
    check_noise(job, result.privacy)
    if not result.groups:
        raise WireError("result.groups: empty; a box with no group of at least k rows sends nothing")
    cells = result_cells(job, result)
    if cells > job.budget.output_cells:
        raise WireError(
            f"result.groups: {cells} cells, more than the job's budget.output_cells {job.budget.output_cells}"
        )
    # under the lock resign() holds: a result checked in just before its household resigned is
    # refused, never written after resign() removed the household's results
    with store_lock(data):
        with open_server_db(data) as db:
            row = db.execute("SELECT status FROM enrolments WHERE enrolment = ?", (enrolment,)).fetchone()
        if row is None or row["status"] != "active":
            raise Revoked("the token has been revoked")
        return put_result(data, job_id, enrolment, result.to_dict(job), now)


def answer(data: DataDir, job_id: str, *, k_min: int = SERVER_K_MIN) -> dict[str, Any]:
    """The combined answer; `NotReleased` while fewer than k homes have contributed."""
    record = get_job(data, job_id)
    if record is None:
        raise UnknownJob(f"no research job {job_id!r}")
    k = max(record.job.k, k_min, SERVER_K_MIN)
    if record.homes < k:
        raise NotReleased(
            f"not yet: {record.homes} of the {k} homes needed have sent a result for {job_id!r}"
        )
    return combine(record.job, results_of(data, job_id), k_min=k_min)
