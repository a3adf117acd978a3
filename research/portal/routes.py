"""The portal's routes: apply, log in and out, datasets and downloads, the SQL box, the API key.

A login is a session cookie (``hems_session``: HttpOnly, Secure, SameSite=Strict) whose token is
kept hashed (research.accounts); every form that changes something carries the session's CSRF token,
and the two forms used before a login (apply, log in) a double-submit token (cookie ``hems_form`` equal
to the form's field). Downloads and queries go through the same checked, bounded path as the API
(research.query.run) and are logged.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from research import accounts
from research.accounts import AccountError, Researcher
from research.gate import RateLimiter
from research.paths import DataDir
from research.portal import pages
from research.query.check import QueryRefused
from research.query.datasets import dataset_names, overview_at_once
from research.query.run import FORMATS, MEDIA, QueryLimits, encode, run_query

SESSION = "hems_session"
FORM = "hems_form"
EXPIRED = "the form expired: send it again"
#: password guesses: per e-mail and per client address, this many a minute (and at once)
LOGINS_PER_MINUTE = 10
COOKIE = {"httponly": True, "secure": True, "samesite": "strict", "path": "/"}


#: the pages load nothing: no script, no image, no font, no frame, nothing from another origin
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make the browser's form posts say Origin: null
}


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def same_origin(request: Request) -> bool:
    """False when the browser says a form was posted from another origin (defence beside the token)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin in (f"https://{host}", f"http://{host}")


def token_ok(request: Request, expected: str, form: dict[str, str]) -> bool:
    return bool(expected) and same_origin(request) and hmac.compare_digest(expected, form.get("csrf", ""))


def build_router(data: DataDir, clock: Callable[[], datetime], k: int, limits: QueryLimits) -> APIRouter:
    router = APIRouter()
    logins = RateLimiter(per_minute=LOGINS_PER_MINUTE, burst=LOGINS_PER_MINUTE)

    async def current(request: Request) -> tuple[Researcher, str] | None:
        token = request.cookies.get(SESSION, "")
        return await run_in_threadpool(accounts.session, data, token, clock()) if token else None

    def form_page(title: str, render: Callable[[str], str], status: int = 200) -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        response = _html(pages.page(title, render(token)), status)
        response.set_cookie(FORM, token, **COOKIE)  # type: ignore[arg-type]
        return response

    def form_ok(request: Request, form: dict[str, str]) -> bool:
        return token_ok(request, request.cookies.get(FORM, ""), form)

    async def fields(request: Request) -> dict[str, str]:
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str)}

    def log(user: Researcher, what: str, detail: str, rows: int | None, outcome: str) -> None:
        accounts.log_access(
            data, user.user_id, clock(), via="portal", what=what, detail=detail, rows=rows, outcome=outcome
        )

    @router.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> HTMLResponse:
        who = await current(request)
        name = None if who is None else who[0].name
        return _html(pages.page("ENTRANS energy data", pages.home(name), user=name, csrf=who and who[1]))

    @router.get("/apply", response_class=HTMLResponse)
    async def apply_get() -> HTMLResponse:
        return form_page("Apply for access", pages.apply_form)

    @router.post("/apply", response_class=HTMLResponse)
    async def apply_post(request: Request) -> HTMLResponse:
        form = await fields(request)
        if not form_ok(request, form):
            return form_page(
                "Apply for access", lambda t: pages.apply_form(t, "the form expired: send it again"), 400
            )
        try:
            user_id = await run_in_threadpool(
                lambda: accounts.apply(
                    data,
                    name=form.get("name", ""),
                    email=form.get("email", ""),
                    institution=form.get("institution", ""),
                    purpose=form.get("purpose", ""),
                    password=form.get("password", ""),
                    now=clock(),
                )
            )
        except AccountError as exc:
            why = str(exc)
            return form_page("Apply for access", lambda t: pages.apply_form(t, why, form), 400)
        return _html(pages.page("Application received", pages.applied(user_id)))

    @router.get("/login", response_class=HTMLResponse)
    async def login_get() -> HTMLResponse:
        return form_page("Log in", pages.login_form)

    @router.post("/login", response_model=None)
    async def login_post(request: Request) -> Response:
        form = await fields(request)
        if not form_ok(request, form):
            return form_page("Log in", lambda t: pages.login_form(t, EXPIRED), 400)
        email = form.get("email", "").strip().lower()[:200]
        address = request.client.host if request.client else "?"
        if logins.allow("email:" + email) > 0 or logins.allow("address:" + address) > 0:
            why = "too many login attempts: wait a minute"
            return form_page("Log in", lambda t: pages.login_form(t, why), 429)
        made = await run_in_threadpool(accounts.log_in, data, email, form.get("password", ""), clock())
        if made is None:
            why = "wrong e-mail or password, or the account is not approved"
            await run_in_threadpool(
                lambda: accounts.log_access(
                    data, f"login:{email[:80]}", clock(), via="portal", what="login", detail=address,
                    rows=None, outcome=f"refused: {why}",
                )
            )  # fmt: skip
            return form_page("Log in", lambda t: pages.login_form(t, why), 401)
        response = RedirectResponse("/datasets", status_code=303)
        response.set_cookie(SESSION, made[0], max_age=int(accounts.service.SESSION.total_seconds()), **COOKIE)  # type: ignore[arg-type]
        response.delete_cookie(FORM, path="/")
        return response

    @router.post("/logout", response_model=None)
    async def logout(request: Request) -> Response:
        who = await current(request)
        form = await fields(request)
        if who is not None and token_ok(request, who[1], form):
            await run_in_threadpool(accounts.log_out, data, request.cookies.get(SESSION, ""))
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION, path="/")
        return response

    def login_first() -> Response:
        return RedirectResponse("/login", status_code=303)

    @router.get("/datasets", response_model=None)
    async def datasets_page(request: Request) -> Response:
        who = await current(request)
        if who is None:
            return login_first()
        docs, as_of = await run_in_threadpool(overview_at_once, data, k)
        await run_in_threadpool(log, who[0], "datasets", "", None, "ok")
        body = pages.datasets(docs, as_of)
        return _html(pages.page("Datasets", body, user=who[0].name, csrf=who[1]))

    @router.get("/datasets/{name}/download", response_model=None)
    async def download(name: str, request: Request, format: str = "parquet") -> Response:
        who = await current(request)
        if who is None:
            return login_first()
        if name not in dataset_names() or format not in ("csv", "parquet"):
            return _html(pages.page("Not found", pages.error_line(f"no download {name}.{format}")), 404)
        return await answer(who, f"SELECT * FROM {name}", format, f"{name}.{format}")

    async def answer(who: tuple[Researcher, str], sql: str, fmt: str, filename: str) -> Response:
        try:
            result = await run_in_threadpool(run_query, data, k, sql, limits)
        except QueryRefused as exc:
            await run_in_threadpool(log, who[0], "query", sql, None, f"refused: {exc}")
            body = pages.query_form(who[1], sql, limits.row_limit, str(exc))
            return _html(pages.page("SQL", body, user=who[0].name, csrf=who[1]), 400)
        await run_in_threadpool(
            log, who[0], "download" if fmt != "html" else "query", sql, result.table.num_rows, "ok"
        )
        if fmt == "html":
            shown = pages.table(result.table, result.truncated, limits.row_limit)
            body = pages.query_form(who[1], sql, limits.row_limit, None, shown)
            return _html(pages.page("SQL", body, user=who[0].name, csrf=who[1]))
        headers = {
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Truncated": "true" if result.truncated else "false",
        }
        return Response(encode(result, fmt), media_type=MEDIA[fmt], headers=headers)

    @router.get("/query", response_model=None)
    async def query_get(request: Request) -> Response:
        who = await current(request)
        if who is None:
            return login_first()
        example = "SELECT postcode_prefix, households FROM prefixes ORDER BY households DESC"
        body = pages.query_form(who[1], example, limits.row_limit)
        return _html(pages.page("SQL", body, user=who[0].name, csrf=who[1]))

    @router.post("/query", response_model=None)
    async def query_post(request: Request) -> Response:
        who = await current(request)
        if who is None:
            return login_first()
        form = await fields(request)
        if not token_ok(request, who[1], form):
            return _html(pages.page("SQL", pages.error_line(EXPIRED)), 400)
        fmt = form.get("format", "html")
        if fmt not in (*FORMATS, "html") or fmt == "json":
            fmt = "html"
        return await answer(who, form.get("sql", ""), fmt, f"query.{fmt}")

    @router.get("/account", response_model=None)
    async def account_get(request: Request) -> Response:
        who = await current(request)
        if who is None:
            return login_first()
        body = pages.account(who[0].user_id, who[0].name, who[1])
        return _html(pages.page("Account", body, user=who[0].name, csrf=who[1]))

    @router.post("/account/key", response_model=None)
    async def account_key(request: Request) -> Response:
        who = await current(request)
        if who is None:
            return login_first()
        form = await fields(request)
        if not token_ok(request, who[1], form):
            return _html(pages.page("Account", pages.error_line(EXPIRED)), 400)
        key = await run_in_threadpool(accounts.new_api_key, data, who[0].user_id, clock())
        await run_in_threadpool(log, who[0], "api key", "new key issued", None, "ok")
        body = pages.account(who[0].user_id, who[0].name, who[1], key)
        return _html(pages.page("Account", body, user=who[0].name, csrf=who[1]))

    return router
