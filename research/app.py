"""The research server's ASGI application: `create_app(data_dir)` for uvicorn (`hems research serve`).

Each feature is a router (``ROUTERS``: a name and a builder taking the `AppContext`); adding one is
one import and one list entry.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import fastapi

from research.accounts import researcher_from_api_key
from research.comparison.routes import build_router as comparison_router
from research.ingest.routes import build_router as ingest_router
from research.ingest.service import Limits, store_lock, utc_now
from research.jobs.routes import build_router as jobs_router
from research.paths import DataDir
from research.portal.routes import build_router as portal_router
from research.query.datasets import warm_in_background
from research.query.routes import build_router as query_router
from research.query.run import QueryLimits
from research.store.writer import recover


@dataclass(frozen=True)
class AppContext:
    """What every router is built with."""

    data: DataDir
    k: int = 5  #: smallest group of households released under one postcode prefix
    clock: Callable[[], datetime] = utc_now
    limits: Limits = field(default_factory=Limits)
    query_limits: QueryLimits = field(default_factory=QueryLimits)


RouterBuilder = Callable[[AppContext], fastapi.APIRouter]

ROUTERS: list[tuple[str, RouterBuilder]] = [
    ("ingest", lambda ctx: ingest_router(ctx.data, ctx.clock, ctx.limits)),
    ("jobs", lambda ctx: jobs_router(ctx.data, ctx.clock, ctx.limits, ctx.k, researcher_from_api_key)),
    ("query", lambda ctx: query_router(ctx.data, ctx.clock, ctx.k, ctx.query_limits)),
    ("portal", lambda ctx: portal_router(ctx.data, ctx.clock, ctx.k, ctx.query_limits)),
    ("comparison", lambda ctx: comparison_router(ctx.data, ctx.clock, ctx.k)),
]


def create_app(
    data_dir: Path,
    *,
    k: int = 5,
    clock: Callable[[], datetime] = utc_now,
    limits: Limits | None = None,
) -> fastapi.FastAPI:
    """The server over ``data_dir`` (created if missing); repairs what a crash left in the store."""
    data = DataDir(Path(data_dir)).ensure()
    with store_lock(data):  # another worker process may be writing already
        recover(data.store, data.staging)
    ctx = AppContext(data, k, clock, limits or Limits())
    app = fastapi.FastAPI(title="hems research server", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.context = ctx
    for _, build in ROUTERS:
        app.include_router(build(ctx))
    return app


def from_environment() -> fastapi.FastAPI:
    """One worker's app when `hems research serve --workers N` runs several (research.server.serve
    sets the variables). A token's request budget is shared out: each worker allows 1/N of it."""
    workers = int(os.environ["HEMS_RESEARCH_WORKERS"])
    limits = Limits(**json.loads(os.environ["HEMS_RESEARCH_LIMITS"]))
    per_worker = dataclasses.replace(
        limits,
        requests_per_minute=limits.requests_per_minute / workers,
        burst=max(1, limits.burst // workers),
    )
    data, k = Path(os.environ["HEMS_RESEARCH_DATA"]), int(os.environ["HEMS_RESEARCH_K"])
    app = create_app(data, k=k, limits=per_worker)
    warm_in_background(DataDir(data), k)
    return app
