"""Limits on researchers: password guesses, requests per API key, queries running at once (the real
server over HTTPS where a client is involved)."""

from __future__ import annotations

import re
import ssl

import httpx
import pytest
from research_testing import Research
from test_researchers import client, researcher_key

from research import accounts
from research.query import routes as api
from research.query import run
from research.query.run import QueryBusy, QueryLimits, run_query


def test_password_guesses_are_limited_and_each_failure_logged(research: Research) -> None:
    researcher_key(research)
    ctx = ssl.create_default_context(cafile=str(research.pki.ca_file))
    with httpx.Client(base_url=research.server.url.removesuffix("/v1"), verify=ctx, timeout=30) as c:
        page = c.get("/login")
        statuses = []
        for i in range(11):
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert token is not None
            form = {"csrf": token.group(1), "email": "Ada@UiO.no", "password": f"guess number {i}"}
            page = c.post("/login", data=form)
            statuses.append(page.status_code)
        assert statuses == [401] * 10 + [429]
        assert "too many login attempts" in page.text
    failed = accounts.access_log(research.data, "login:ada@uio.no")
    assert len(failed) == 10 and {row["outcome"] for row in failed} == {
        "refused: wrong e-mail or password, or the account is not approved"
    }


def test_requests_per_api_key_are_limited(research: Research) -> None:
    _, key = researcher_key(research)
    auth = {"Authorization": f"Bearer {key}"}
    with client(research) as c:
        answers = [
            c.get("/datasets/none", headers=auth).status_code for _ in range(2 * api.REQUESTS_PER_MINUTE)
        ]
        assert set(answers) == {404}
        over = c.get("/datasets/none", headers=auth)
    assert over.status_code == 429 and "too many requests" in over.json()["error"]
    _, other_key = researcher_key(research, email="bo@uio.no")
    with client(research) as c:  # the limit is each researcher's own
        assert c.get("/datasets/none", headers={"Authorization": f"Bearer {other_key}"}).status_code == 404


def test_queries_beyond_the_running_ones_wait_then_are_refused(research: Research) -> None:
    taken = [run._TURNS.acquire(timeout=5) for _ in range(run.CONCURRENT)]
    try:
        assert all(taken)
        with pytest.raises(QueryBusy, match=f"{run.CONCURRENT} queries are running"):
            run_query(research.data, 5, "SELECT count(*) FROM households", QueryLimits(wait_s=0.2))
    finally:
        for _ in taken:
            run._TURNS.release()
    answer = run_query(research.data, 5, "SELECT count(*) AS n FROM households", QueryLimits(wait_s=0.2))
    assert answer.table.to_pylist() == [{"n": 0}]
