"""``POST /v1/batches`` and ``POST /v1/deletions`` (docs/telemetry.md's transport)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from threading import Lock

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from research.auth import Household, household_from_token
from research.ingest.service import Limits, Receiver, Refused, decompress, parse_deletion
from research.paths import DataDir
from research.resign import enrolment_of_household, resign


class RateLimiter:
    """A token bucket per upload token: ``burst`` at once, ``per_minute`` sustained."""

    def __init__(
        self, per_minute: float, burst: int, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate_per_s = per_minute / 60.0
        self.burst = burst
        self.monotonic = monotonic
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = Lock()

    def allow(self, key: str) -> float:
        """0 when allowed now, else the seconds to wait."""
        now = self.monotonic()
        with self._lock:
            level, last = self._buckets.get(key, (float(self.burst), now))
            level = min(float(self.burst), level + (now - last) * self.rate_per_s)
            if level < 1.0:
                self._buckets[key] = (level, now)
                return (1.0 - level) / self.rate_per_s
            self._buckets[key] = (level - 1.0, now)
            return 0.0


def _error(status: int, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


def build_router(data: DataDir, clock: Callable[[], datetime], limits: Limits) -> APIRouter:
    router = APIRouter(prefix="/v1")
    receiver = Receiver(data, clock, limits)
    limiter = RateLimiter(limits.requests_per_minute, limits.burst)

    async def _body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limits.max_body_bytes:
            raise Refused(413, f"the body is larger than {limits.max_body_bytes} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limits.max_body_bytes:
                raise Refused(413, f"the body is larger than {limits.max_body_bytes} bytes")
        if request.headers.get("content-encoding", "").lower() != "gzip":
            raise Refused(415, "expected Content-Encoding: gzip")
        return bytes(body)

    def _token(request: Request) -> str:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refused(401, "expected Authorization: Bearer <token>")
        return token.strip()

    async def _household(request: Request) -> tuple[str, Household]:
        token = _token(request)
        household = await run_in_threadpool(household_from_token, data, token)
        if household is None:
            raise Refused(401, "unknown or revoked token")
        wait_s = limiter.allow(token)
        if wait_s > 0:
            raise Refused(429, f"too many requests for this token; retry in {wait_s:.0f} s")
        return token, household

    @router.post("/batches")
    async def batches(request: Request) -> JSONResponse:
        try:
            _, household = await _household(request)
            body = await _body(request)
            key = request.headers.get("idempotency-key", "")
            batch_id = await run_in_threadpool(receiver.batch, household, key, body)
        except Refused as exc:
            retry = {"Retry-After": "60"} if exc.status == 429 else None
            return _error(exc.status, exc.reason, retry)
        return JSONResponse({"batch_id": batch_id}, status_code=200)

    @router.post("/deletions")
    async def deletions(request: Request) -> JSONResponse:
        try:
            token = _token(request)
            body = await _body(request)
            household_id = parse_deletion(decompress(body, limits.max_json_bytes), clock())
            await run_in_threadpool(_delete, data, token, household_id, clock)
        except Refused as exc:
            return _error(exc.status, exc.reason)
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
