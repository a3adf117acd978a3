"""The household side of the server's HTTP door, shared by every router the boxes call.

`HouseholdGate` reads a bearer token, finds its active household (`research.auth`), applies the
per-token rate limit and reads a gzip'd body within the size limits; each refusal is a `Refused`
(status and reason) that a router answers with `error`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from threading import Lock

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from research.auth import Household, household_in
from research.ingest.service import Limits, Refused
from research.paths import DataDir
from research.serverdb import connect_server_db


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


def error(status: int, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A refusal as the boxes read it: ``{"error": reason}``."""
    if status == 429 and headers is None:
        headers = {"Retry-After": "60"}
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


def bearer(request: Request) -> str:
    """The token of ``Authorization: Bearer <token>`` (`Refused` 401 without one)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused(401, "expected Authorization: Bearer <token>")
    return token.strip()


class HouseholdGate:
    """Token, rate limit and body checks for the routes households' boxes call."""

    def __init__(self, data: DataDir, limits: Limits) -> None:
        self.data = data
        self.limits = limits
        self.limiter = RateLimiter(limits.requests_per_minute, limits.burst)
        self._db: sqlite3.Connection | None = None  # kept open: a connection per request cost 0.5 ms
        self._db_lock = Lock()

    def _household(self, token: str) -> Household | None:
        with self._db_lock:
            if self._db is None:
                self._db = connect_server_db(self.data, shared=True)
            return household_in(self._db, token)

    async def body(self, request: Request) -> bytes:
        """The raw gzip'd body, refused when too large or not declared as gzip."""
        declared = request.headers.get("content-length")
        most = self.limits.max_body_bytes
        if declared is not None and declared.isdigit() and int(declared) > most:
            raise Refused(413, f"the body is larger than {most} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > most:
                raise Refused(413, f"the body is larger than {most} bytes")
        if request.headers.get("content-encoding", "").lower() != "gzip":
            raise Refused(415, "expected Content-Encoding: gzip")
        return bytes(body)

    async def household(self, request: Request) -> tuple[str, Household]:
        """(token, its active household); `Refused` 401 for an unknown or revoked token, 429 when
        the token asks too often."""
        token = bearer(request)
        household = await run_in_threadpool(self._household, token)
        if household is None:
            raise Refused(401, "unknown or revoked token")
        wait_s = self.limiter.allow(token)
        if wait_s > 0:
            raise Refused(429, f"too many requests for this token; retry in {wait_s:.0f} s")
        return token, household
