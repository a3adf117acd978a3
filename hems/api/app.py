"""The FastAPI application: the household's read-only API and the phone page, behind roles and tokens.

Imported only when the API starts (`hems.api.server`), never by the daemon's cycle. Every data
endpoint needs ``Authorization: Bearer hems_...``: no token is 401, a bad one is 401 and counts
towards the client's lockout (429), a good one without the endpoint's scope is 403. Handlers that read
the database are plain functions (run in a small thread pool), so the API's event loop — and the
daemon's, which is another thread's — never waits on SQLite.
"""

import html
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from hems import __version__
from hems.api import diagnostics as diag
from hems.api import views
from hems.api.context import ApiContext, Unavailable
from hems.api.live import LiveFeed
from hems.api.tokens import ROLES, Token, TokenError
from hems.storage.channels import unit_of

STATIC = Path(__file__).parent / "static"
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_bearer = HTTPBearer(auto_error=False, description="a token from `hems api token add` (hems_...)")


class SecurityHeaders:
    """Pure ASGI middleware (streams pass straight through): no sniffing, no framing, no referrer;
    API answers are never cached."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/api/")

        async def wrapped(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                if api:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, wrapped)


class NewToken(BaseModel):
    role: str = Field(description=f"one of {', '.join(ROLES)}")
    name: str = Field("", max_length=80, description="who or what holds it ('Kari's phone')")
    expires_hours: float | None = Field(None, gt=0, description="lifetime; installer tokens always have one")
    appliance: str | None = Field(None, description="the appliance an appliance token belongs to")


def create_app(ctx: ApiContext, feed: LiveFeed) -> FastAPI:
    app = FastAPI(
        title="hems: the household's own API",
        version=__version__,
        description="Read-only access to this box's live state, history, plan, reports and alerts. "
        "Every /api/v1 endpoint needs a bearer token (`hems api token add`).",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.add_middleware(SecurityHeaders)

    def need(scope: str) -> Any:
        def check(
            request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
        ) -> Token:
            client = request.client.host if request.client else "unknown"
            wait = ctx.guard.retry_after(client)
            if wait > 0:
                raise HTTPException(
                    429, "too many bad tokens from this address; wait", {"Retry-After": str(math.ceil(wait))}
                )
            if cred is None:
                raise HTTPException(
                    401, "a token is needed: Authorization: Bearer hems_...", {"WWW-Authenticate": "Bearer"}
                )
            token = ctx.tokens.check(cred.credentials, ctx.wall())
            if token is None:
                if ctx.guard.failed(client):
                    raise HTTPException(
                        429,
                        "too many bad tokens from this address; wait",
                        {"Retry-After": str(math.ceil(ctx.api.lockout_seconds))},
                    )
                raise HTTPException(401, "unknown, expired or revoked token", {"WWW-Authenticate": "Bearer"})
            if scope not in token.scopes:
                raise HTTPException(403, f"a {token.role} token cannot do this")
            return token

        return check

    Live = Annotated[Token, Depends(need("live"))]
    Data = Annotated[Token, Depends(need("data"))]
    Diag = Annotated[Token, Depends(need("diagnostics"))]
    Owner = Annotated[Token, Depends(need("tokens"))]
    ApplianceTok = Annotated[Token, Depends(need("appliance"))]

    @app.exception_handler(Unavailable)
    async def _unavailable(request: Request, exc: Unavailable) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(views.ViewError)
    async def _view_error(request: Request, exc: views.ViewError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    def state() -> dict[str, Any] | None:
        import json

        doc = json.loads(feed.body)
        return doc.get("state")

    def today() -> date:
        return ctx.now().astimezone(ctx.tz).date()

    # ----- the phone page and the docs (public: they hold no data) -----------------------------------
    def static(name: str, media: str, csp: bool = False) -> Response:
        headers = {"Content-Security-Policy": PAGE_CSP} if csp else {}
        return Response((STATIC / name).read_bytes(), media_type=media, headers=headers)

    @app.get("/", include_in_schema=False)
    def page() -> Response:
        return static("index.html", "text/html; charset=utf-8", csp=True)

    @app.get("/app.js", include_in_schema=False)
    def page_js() -> Response:
        return static("app.js", "text/javascript; charset=utf-8")

    @app.get("/app.css", include_in_schema=False)
    def page_css() -> Response:
        return static("app.css", "text/css; charset=utf-8")

    @app.get("/manifest.webmanifest", include_in_schema=False)
    def manifest() -> Response:
        return static("manifest.webmanifest", "application/manifest+json")

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(render_docs(app.openapi()), headers={"Content-Security-Policy": PAGE_CSP})

    # ----- live -----------------------------------------------------------------------------------------
    @app.get("/api/v1/whoami", summary="The presented token's role (any valid token)")
    def whoami(
        request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> dict[str, Any]:
        for scope in ("live", "diagnostics", "appliance"):
            try:
                token = need(scope)(request, cred)
            except HTTPException as exc:
                if exc.status_code != 403:
                    raise
                continue
            return {**token.to_dict(), "scopes": sorted(token.scopes)}
        raise HTTPException(403, "this token has no scope")

    @app.get("/api/v1/live", summary="The live state: power, cost per hour, fuse load, alerts")
    async def live(token: Live) -> Response:
        feed.refresh()
        return Response(feed.body, media_type="application/json")

    streams = {"open": 0}

    @app.get(
        "/api/v1/live/stream",
        summary="The live state as server-sent events (event 'live' each cycle)",
        response_class=StreamingResponse,
    )
    async def live_stream(request: Request, token: Live) -> StreamingResponse:
        if streams["open"] >= ctx.api.max_streams:
            raise HTTPException(503, "too many live streams open; try again later")

        async def events() -> Any:
            streams["open"] += 1
            try:
                seq, idle = -1, 0.0
                while True:
                    if ctx.tokens.check_id(token.id, ctx.wall()) is None:  # revoked or expired: at once
                        yield b"event: revoked\ndata: {}\n\n"
                        return
                    if feed.seq != seq:
                        seq, idle = feed.seq, 0.0
                        yield b"id: %d\nevent: live\ndata: " % seq + feed.body + b"\n\n"
                    elif idle >= 15.0:
                        idle = 0.0
                        yield b": keep-alive\n\n"
                    if feed.closing or await request.is_disconnected():
                        return
                    before = feed.seq
                    await feed.wait(before, 1.0)
                    idle += 1.0 if feed.seq == before else 0.0
            finally:
                streams["open"] -= 1

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
        )

    # ----- history -----------------------------------------------------------------------------------
    @app.get("/api/v1/channels", summary="Every stored channel and the resolutions kept")
    def channels(token: Data) -> dict[str, Any]:
        names = ctx.read(lambda st: st.channels())
        return {
            "channels": [{"name": c, "unit": unit_of(c)} for c in names],
            "resolutions": list(views.MAX_SPAN),
        }

    @app.get("/api/v1/series", summary="A channel at any stored resolution (JSON or CSV)")
    def series(
        token: Data,
        channel: str,
        resolution: Annotated[str, Query(pattern="^(raw|1m|15m|1h|1d)$")] = "15m",
        start: datetime | None = None,
        end: datetime | None = None,
        format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
    ) -> Response:
        end = end or ctx.now()
        start = start or end - timedelta(hours=24)
        if start.tzinfo is None or end.tzinfo is None:
            raise HTTPException(400, "start and end need a UTC offset (2026-01-15T00:00:00+01:00)")
        if format == "csv":
            from hems.reports.export import export_csv

            views.series_view(
                ctx.read(lambda st: _NoPoints(st)), channel, start, end, resolution
            )  # validates
            text = ctx.read(lambda st: export_csv(st, channel, resolution, start, end, ctx.tz))
            return PlainTextResponse(text, media_type="text/csv")
        data = ctx.read(lambda st: views.series_view(st, channel, start, end, resolution))
        return JSONResponse(data)

    @app.get(
        "/api/v1/espi",
        summary="The last 48 hours as a Green Button (ESPI) feed",
        response_class=Response,
        responses={200: {"content": {"application/atom+xml": {}}}},
    )
    def espi(token: Data, resolution: Annotated[str, Query(pattern="^(15m|1h)$")] = "15m") -> Response:
        body = ctx.read(lambda st: views.espi_recent(st, ctx.now(), ctx.tz, resolution))
        return Response(body, media_type="application/atom+xml")

    @app.get("/api/v1/reports/{period}", summary="A day's, week's or month's report (energy, peaks, cost)")
    def report(
        token: Data, period: Annotated[str, PathParam(pattern="^(day|week|month)$")], day: date | None = None
    ) -> dict[str, Any]:
        from hems.reports import build_report

        d = day or today()
        tariff = ctx.tariff()
        return ctx.cached(
            ("report", period, d),
            60.0,
            lambda: ctx.read(lambda st: build_report(st, period, d, ctx.tz, tariff=tariff).to_dict()),
        )

    @app.get("/api/v1/month", summary="The month so far: days, the three largest peaks, capacity step, cost")
    def month(token: Data, day: date | None = None) -> dict[str, Any]:
        d = day or today()

        def make() -> dict[str, Any]:
            from hems.control.inputs import capacity_steps

            steps = capacity_steps(ctx.config, d)
            return ctx.read(lambda st: views.month_view(st, d, ctx.tz, ctx.tariff(), steps))

        return ctx.cached(("month", d), 60.0, make)

    @app.get("/api/v1/plan", summary="The newest plan and why each appliance runs when it does")
    def plan(token: Data) -> dict[str, Any]:
        return views.plan_view(ctx.read(lambda st: st.get_doc("plan")))

    @app.get("/api/v1/alerts", summary="Alerts active now and the alerts and actions of the last hours")
    def alerts(token: Data, hours: Annotated[float, Query(gt=0, le=24 * 92)] = 24.0) -> dict[str, Any]:
        return ctx.read(lambda st: views.alerts_view(st, state(), ctx.now(), hours))

    @app.get("/api/v1/appliances/{appliance}", summary="One appliance's own schedule and state")
    def appliance(token: ApplianceTok, appliance: str) -> dict[str, Any]:
        if token.role == "appliance" and token.appliance != appliance:
            raise HTTPException(403, "an appliance token sees only its own appliance")
        known = [a.id for a in ctx.config.appliance]
        return views.appliance_view(appliance, state(), ctx.read(lambda st: st.get_doc("plan")), known)

    # ----- installer -------------------------------------------------------------------------------------
    @app.get("/api/v1/diagnostics", summary="Versions, freshness, devices in trouble, database, disk")
    def diagnostics(token: Diag) -> dict[str, Any]:
        return diag.diagnostics(ctx, state())

    @app.get("/api/v1/config/check", summary="The configuration file checked as it is on disk now")
    def config_check(token: Diag) -> dict[str, Any]:
        return diag.config_check(ctx)

    # ----- tokens (owner) --------------------------------------------------------------------------------
    @app.get("/api/v1/tokens", summary="Every token's record (never the token itself)")
    def list_tokens(token: Owner) -> dict[str, Any]:
        now = ctx.wall()
        return {"tokens": [{**t.to_dict(), "active": t.valid_at(now)} for t in ctx.tokens.list()]}

    @app.post("/api/v1/tokens", status_code=201, summary="Make a token (shown once)")
    def add_token(token: Owner, body: NewToken) -> dict[str, Any]:
        now = ctx.wall()
        expires = now + timedelta(hours=body.expires_hours) if body.expires_hours else None
        try:
            made, secret = ctx.tokens.add(
                body.role,
                body.name,
                now,
                expires=expires,
                appliance=body.appliance,
                installer_hours=ctx.api.installer_hours,
            )
        except TokenError as exc:
            raise HTTPException(400, str(exc)) from None
        return {**made.to_dict(), "token": secret}

    @app.delete("/api/v1/tokens/{token_id}", summary="Revoke a token (at once)")
    def revoke_token(token: Owner, token_id: str) -> dict[str, Any]:
        if not ctx.tokens.revoke(token_id, ctx.wall()):
            raise HTTPException(404, f"no token {token_id!r}")
        return {"revoked": token_id}

    return app


class _NoPoints:
    """A storage stand-in for validating a series request without reading its points."""

    def __init__(self, st: Any) -> None:
        self._st = st

    def channels(self) -> list[str]:
        return list(self._st.channels())

    def series(self, *args: Any) -> list[Any]:
        return []


def render_docs(spec: dict[str, Any]) -> str:
    """The OpenAPI description as one self-contained HTML page (no external assets)."""
    rows = []
    for path, ops in spec.get("paths", {}).items():
        for method, op in ops.items():
            params = ", ".join(
                f"{p['name']}{'' if p.get('required') else '?'}"
                for p in op.get("parameters", [])
                if p.get("in") == "query"
            )
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op.get('summary', ''))}</td>"
                f"<td><code>{html.escape(params)}</code></td></tr>"
            )
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        f"<title>{html.escape(spec['info']['title'])}</title><link rel=stylesheet href=/app.css>"
        f"<body class=docs><h1>{html.escape(spec['info']['title'])} "
        f"{html.escape(spec['info']['version'])}</h1>"
        f"<p>{html.escape(spec['info'].get('description', ''))} The machine-readable description: "
        "<a href=/api/openapi.json>/api/openapi.json</a>.</p>"
        "<table><tr><th>method</th><th>path</th><th>what</th><th>query</th></tr>" + "".join(rows) + "</table>"
        f"<p>Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.</p></body></html>"
    )
