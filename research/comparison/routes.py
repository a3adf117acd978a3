"""``GET /v1/comparison?prefix=108x&group=fuse=25,heating=heat_pump,pv=0,ev=1&month=YYYY-MM``, with a
household's upload token as ``Authorization: Bearer``.

``prefix`` defaults to the label the household's own data is released under, ``group`` to ``all``
(every home of the prefix) and ``month`` to the current one (UTC). Answers ``hems-comparison/1``
(wire/comparison.py); 400 for a malformed parameter, 401 for an unknown or revoked token, 429 past
`BURST` requests at once or `PER_MINUTE` sustained per token, 404 when
the prefix is not released or holds no counted day, 403 when the group is below k — each with
``{"error": reason}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from research.comparison.compute import Ask, NotReleased, comparison, own_prefix
from research.gate import HouseholdGate, error
from research.ingest.service import Limits, Refused
from research.paths import DataDir
from research.store.released import released_connection
from wire.comparison import check_prefix, parse_group
from wire.errors import WireError

PER_MINUTE = 6.0  #: comparisons per token per minute, sustained (each one reads the store)
BURST = 20  #: ... and at once


def answer(data: DataDir, k: int, household_id: str | None, prefix: str | None, ask: Ask) -> dict[str, Any]:
    """The comparison for ``ask`` (``prefix`` None: the household's own released prefix)."""
    con = released_connection(data, k, memory_limit="512MB", threads=2)
    try:
        if prefix is None:
            prefix = own_prefix(con, household_id)
            if prefix is None:
                raise NotReleased(
                    404,
                    f"this household's prefix is not released: "
                    f"no upload yet, or fewer than {k} homes share it",
                )
        return comparison(con, Ask(prefix, ask.group, ask.month), k)
    finally:
        con.close()


def build_router(data: DataDir, clock: Callable[[], datetime], k: int) -> APIRouter:
    router = APIRouter(prefix="/v1")
    # its own bucket: a box asks once a day; a backlog of batches never uses up its comparisons
    gate = HouseholdGate(data, Limits(requests_per_minute=PER_MINUTE, burst=BURST))

    @router.get("/comparison")
    async def get_comparison(request: Request) -> JSONResponse:
        try:
            _, household = await gate.household(request)
        except Refused as exc:
            return error(exc.status, exc.reason)
        params = request.query_params
        try:
            prefix = check_prefix(params["prefix"]) if "prefix" in params else None
            group = parse_group(params.get("group", "all"))
        except WireError as exc:
            return error(400, str(exc))
        text = params.get("month")
        if text is None:
            month = clock().date().replace(day=1)
        elif re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
            month = date.fromisoformat(text + "-01")
        else:
            return error(400, f"month: expected YYYY-MM, got {text!r}")
        try:
            doc = await run_in_threadpool(
                answer, data, k, household.household_id, prefix, Ask(prefix or "", group, month)
            )
        except NotReleased as exc:
            return error(exc.status, exc.reason)
        return JSONResponse(doc)

    return router
