"""``POST /v1/batches`` and ``POST /v1/deletions`` (docs/telemetry.md's transport)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from research.gate import HouseholdGate, bearer, error
from research.ingest.service import Limits, Receiver, Refused, decompress, parse_deletion
from research.paths import DataDir
from research.resign import enrolment_of_household, resign


def build_router(data: DataDir, clock: Callable[[], datetime], limits: Limits) -> APIRouter:
    router = APIRouter(prefix="/v1")
    receiver = Receiver(data, clock, limits)
    gate = HouseholdGate(data, limits)

    @router.post("/batches")
    async def batches(request: Request) -> JSONResponse:
        try:
            _, household = await gate.household(request)
            body = await gate.body(request)
            key = request.headers.get("idempotency-key", "")
            batch_id = await run_in_threadpool(receiver.batch, household, key, body)
        except Refused as exc:
            return error(exc.status, exc.reason)
        return JSONResponse({"batch_id": batch_id}, status_code=200)

    @router.post("/deletions")
    async def deletions(request: Request) -> JSONResponse:
        try:
            token = bearer(request)
            body = await gate.body(request)
            household_id = parse_deletion(decompress(body, limits.max_json_bytes), clock())
            await run_in_threadpool(_delete, data, token, household_id, clock)
            receiver.forget(household_id)
        except Refused as exc:
            return error(exc.status, exc.reason)
        return JSONResponse({"household_id": household_id}, status_code=200)

    return router


def _delete(data: DataDir, token: str, household_id: str, clock: Callable[[], datetime]) -> None:
    """Resign the token's enrolment. A token already resigned gets the confirmation again (its first
    answer may have been lost), as long as nothing is held under the id."""
    from research.auth import token_hash
    from research.serverdb import open_server_db

    with open_server_db(data) as db:
        row = db.execute(
            "SELECT enrolment, status, household_id FROM enrolments WHERE token_sha256 = ?",
            (token_hash(token),),
        ).fetchone()
    if row is None:
        raise Refused(401, "unknown token")
    owner = enrolment_of_household(data, household_id)
    if owner is not None and owner != row["enrolment"]:
        raise Refused(403, "this household id belongs to another enrolment")
    if row["status"] != "active":
        return
    if row["household_id"] not in (None, household_id):
        raise Refused(403, "this token belongs to another household id")
    now = clock()
    resign(data, row["enrolment"], requested_by="household", requested_at=now, now=now)
