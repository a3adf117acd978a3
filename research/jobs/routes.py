"""The research jobs over HTTP (docs/research-jobs.md):

- ``GET /v1/jobs`` (a household's token): the signed jobs on offer, ``hems-jobs/1``;
- ``POST /v1/jobs/{id}/results`` (a household's token, gzip'd ``hems-job-result/1``): the box's
  result, checked against its job and kept as that household's latest; answers ``{"job_id", "homes"}``;
- ``POST /v1/jobs`` (a researcher's API key): submit a job (checked, signed and offered, or 422 with
  the reason);
- ``GET /v1/jobs/{id}/result`` (a researcher's API key): the combined answer, 409 until at least k
  homes have contributed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from research.gate import HouseholdGate, bearer, error
from research.ingest.service import Limits, Refused, decompress
from research.jobs.service import (
    JobRejected,
    NotReleased,
    Revoked,
    UnknownJob,
    answer,
    complete,
    receive_result,
    submit,
)
from research.jobs.store import DuplicateJob, list_jobs
from research.paths import DataDir
from wire.errors import WireError
from wire.jobs import LIST_SCHEMA

Researcher = Callable[[DataDir, str], Any]  #: API key → researcher (None when unknown or revoked)


def build_router(
    data: DataDir,
    clock: Callable[[], datetime],
    limits: Limits,
    k_min: int,
    researcher_from_api_key: Researcher | None = None,
) -> APIRouter:
    router = APIRouter(prefix="/v1")
    gate = HouseholdGate(data, limits)

    @router.get("/jobs")
    async def offered(request: Request) -> JSONResponse:
        try:
            await gate.household(request)
        except Refused as exc:
            return error(exc.status, exc.reason)
        records = await run_in_threadpool(list_jobs, data, offered_at=clock())
        return JSONResponse({"schema": LIST_SCHEMA, "jobs": [r.signed.to_dict() for r in records]})

    @router.post("/jobs/{job_id}/results")
    async def result_in(job_id: str, request: Request) -> JSONResponse:
        try:
            _, household = await gate.household(request)
            doc = decompress(await gate.body(request), limits.max_json_bytes)
            homes = await run_in_threadpool(receive_result, data, job_id, household.enrolment, doc, clock())
        except Refused as exc:
            return error(exc.status, exc.reason)
        except UnknownJob as exc:
            return error(404, str(exc))
        except Revoked as exc:
            return error(401, str(exc))
        except WireError as exc:
            return error(422, f"the result does not fit job {job_id!r}: {exc}")
        return JSONResponse({"job_id": job_id, "homes": homes})

    @router.post("/jobs")
    async def submit_job(request: Request) -> JSONResponse:
        """A researcher submits a job (JSON: the job document's fields, the SQL included)."""
        if researcher_from_api_key is None:
            return error(503, "researcher accounts are not set up on this server")
        try:
            who = await run_in_threadpool(researcher_from_api_key, data, bearer(request))
            if who is None:
                raise Refused(401, "unknown or revoked API key")
            try:
                doc = await request.json()
            except ValueError:
                raise Refused(400, "expected a JSON job document") from None
            if not isinstance(doc, dict):
                raise Refused(400, "expected a JSON object: the job's fields")
            named = f"{who.name}, {who.institution}"
            completed = complete(doc, clock(), doc.get("researcher") or named)
            record = await run_in_threadpool(
                lambda: submit(data, completed, submitter=who.user_id, now=clock())
            )
        except Refused as exc:
            return error(exc.status, exc.reason)
        except (JobRejected, DuplicateJob) as exc:
            await run_in_threadpool(_log, data, who.user_id, clock(), "submit", None, f"refused: {exc}")
            return error(422, str(exc))
        await run_in_threadpool(_log, data, who.user_id, clock(), f"submit {record.job.id}", None, "ok")
        return JSONResponse(record.to_dict(), status_code=201)

    @router.get("/jobs/{job_id}/result")
    async def result_out(job_id: str, request: Request) -> JSONResponse:
        if researcher_from_api_key is None:
            return error(503, "researcher accounts are not set up on this server")
        try:
            who = await run_in_threadpool(researcher_from_api_key, data, bearer(request))
            if who is None:
                raise Refused(401, "unknown or revoked API key")
            combined = await run_in_threadpool(answer, data, job_id, k_min=k_min)
        except Refused as exc:
            return error(exc.status, exc.reason)
        except (UnknownJob, NotReleased) as exc:
            await run_in_threadpool(_log, data, who.user_id, clock(), job_id, None, f"refused: {exc}")
            return error(404 if isinstance(exc, UnknownJob) else 409, str(exc))
        groups = len(combined["groups"])
        await run_in_threadpool(_log, data, who.user_id, clock(), job_id, groups, "ok")
        return JSONResponse(combined)

    return router


def _log(data: DataDir, user_id: str, now: datetime, detail: str, rows: int | None, outcome: str) -> None:
    from research.accounts import log_access

    what = "job" if detail.startswith("submit") else "job result"
    log_access(data, user_id, now, via="api", what=what, detail=detail, rows=rows, outcome=outcome)
