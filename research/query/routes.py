"""The researchers' API (a researcher's API key as ``Authorization: Bearer``):

- ``POST /v1/query`` ``{"sql": "...", "format": "json"|"csv"|"parquet", "limit": n}``: the rows of a
  read-only SELECT over the released views (at most the server's row limit; ``X-Truncated`` and the
  JSON's ``truncated`` say when more matched); 400 with the reason when the SQL is refused;
- ``GET /v1/datasets``, ``GET /v1/datasets/{name}``: what each released dataset holds, its coverage
  and quality flags.

Every request a researcher makes is logged (research.accounts.log_access), refused ones too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from research.accounts import Researcher, log_access, researcher_from_api_key
from research.gate import RateLimiter, bearer, error
from research.ingest.service import Refused
from research.paths import DataDir
from research.query.check import QueryRefused
from research.query.datasets import describe, overview
from research.query.run import FORMATS, LICENCE, MEDIA, QueryBusy, QueryLimits, encode, run_query

#: requests a minute per researcher (sustained; twice as many at once)
REQUESTS_PER_MINUTE = 60


def build_router(data: DataDir, clock: Callable[[], datetime], k: int, limits: QueryLimits) -> APIRouter:
    router = APIRouter(prefix="/v1")
    limiter = RateLimiter(per_minute=REQUESTS_PER_MINUTE, burst=2 * REQUESTS_PER_MINUTE)

    async def who(request: Request) -> Researcher:
        found = await run_in_threadpool(researcher_from_api_key, data, bearer(request))
        if found is None:
            raise Refused(401, "unknown or revoked API key")
        wait_s = limiter.allow(found.user_id)
        if wait_s > 0:
            raise Refused(429, f"too many requests; retry in {wait_s:.0f} s")
        return found

    def logged(user: Researcher, what: str, detail: str, rows: int | None, outcome: str) -> None:
        log_access(
            data, user.user_id, clock(), via="api", what=what, detail=detail, rows=rows, outcome=outcome
        )

    @router.post("/query")
    async def query(request: Request) -> Response:
        try:
            user = await who(request)
        except Refused as exc:
            return error(exc.status, exc.reason)
        try:
            body = await request.json()
        except ValueError:
            return error(400, 'expected a JSON body {"sql": "...", "format": "json"}')
        sql = body.get("sql") if isinstance(body, dict) else None
        fmt = body.get("format", "json") if isinstance(body, dict) else "json"
        limit = body.get("limit") if isinstance(body, dict) else None
        if not isinstance(sql, str):
            return error(400, 'expected "sql": the query text')
        if fmt not in FORMATS:
            return error(400, f'"format": expected one of {", ".join(FORMATS)}, got {fmt!r}')
        bounded = limits
        if limit is not None:
            if not isinstance(limit, int) or limit < 1:
                return error(400, '"limit": expected a positive whole number of rows')
            bounded = replace(limits, row_limit=min(limit, limits.row_limit))
        try:
            answer = await run_in_threadpool(run_query, data, k, sql, bounded)
        except QueryRefused as exc:
            await run_in_threadpool(logged, user, "query", sql, None, f"refused: {exc}")
            return error(503 if isinstance(exc, QueryBusy) else 400, str(exc))
        await run_in_threadpool(logged, user, "query", sql, answer.table.num_rows, "ok")
        headers = {"X-Truncated": "true" if answer.truncated else "false", "X-Licence": LICENCE}
        if fmt != "json":
            headers["Content-Disposition"] = f'attachment; filename="query.{fmt}"'
        return Response(encode(answer, fmt), media_type=MEDIA[fmt], headers=headers)

    @router.get("/datasets")
    async def datasets(request: Request) -> JSONResponse:
        try:
            user = await who(request)
        except Refused as exc:
            return error(exc.status, exc.reason)
        docs = await run_in_threadpool(overview, data, k)
        await run_in_threadpool(logged, user, "datasets", "", None, "ok")
        return JSONResponse({"datasets": docs, "licence": LICENCE})

    @router.get("/datasets/{name}")
    async def dataset(name: str, request: Request) -> JSONResponse:
        try:
            user = await who(request)
            doc = await run_in_threadpool(describe, data, k, name)
        except Refused as exc:
            return error(exc.status, exc.reason)
        except KeyError as exc:
            return error(404, str(exc.args[0]))
        await run_in_threadpool(logged, user, "dataset", name, None, "ok")
        return JSONResponse({**doc, "licence": LICENCE})

    return router
