"""The portal's pages forbid every script and external asset (Content-Security-Policy), and a form
posted from another origin is refused even with a valid token (the real server over HTTPS)."""

from __future__ import annotations

import re
import ssl

import httpx
from research_testing import Research
from test_researchers import researcher_key

from research import accounts


def portal(research: Research) -> httpx.Client:
    ctx = ssl.create_default_context(cafile=str(research.pki.ca_file))
    return httpx.Client(base_url=research.server.url.removesuffix("/v1"), verify=ctx, timeout=30)


def token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text[:300]
    return found.group(1)


def test_pages_forbid_scripts_and_external_assets(research: Research) -> None:
    with portal(research) as c:
        for path in ("/", "/login", "/apply"):
            page = c.get(path)
            assert page.status_code == 200, path
            policy = page.headers["content-security-policy"]
            assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
            assert page.headers["x-content-type-options"] == "nosniff"
            assert "<script" not in page.text and "http://" not in page.text


def test_a_form_from_another_origin_is_refused_even_with_its_token(research: Research) -> None:
    user, _ = researcher_key(research)
    login = {"email": "ada@uio.no", "password": "correct horse battery"}
    with portal(research) as c:
        t = token(c.get("/login"))
        evil = c.post("/login", data=login | {"csrf": t}, headers={"Origin": "https://evil.example"})
        assert evil.status_code == 400 and "the form expired" in evil.text
        assert "hems_session" not in evil.headers.get("set-cookie", "")
        t = token(evil)  # the refusal renders a fresh form
        ok = c.post("/login", data=login | {"csrf": t}, headers={"Origin": str(c.base_url).rstrip("/")})
        assert ok.status_code == 303 and "hems_session" in ok.headers["set-cookie"]
        query = c.get("/query")
        session_token = token(query)
        cross = c.post(
            "/query",
            data={"csrf": session_token, "sql": "SELECT 1", "format": "json"},
            headers={"Origin": "https://evil.example"},
        )
        assert cross.status_code == 400 and "the form expired" in cross.text
        same = c.post("/query", data={"csrf": session_token, "sql": "SELECT 1", "format": "csv"})
        assert same.status_code == 200  # no Origin header (a non-browser client): the token decides
    assert [row["what"] for row in accounts.access_log(research.data, user)] == ["download"]  # only the last
