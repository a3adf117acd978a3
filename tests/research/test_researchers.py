"""Researchers: accounts, the query API over the released views only, refusals that fail safe, the
licence line in every file, k on the postcode prefix, the access log (the real server over HTTPS)."""

from __future__ import annotations

import io
import json
import ssl
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from research_testing import Research, batch, household_id

from hems.cli import main
from research import accounts
from research.jobs import service as jobs
from research.query.check import QueryRefused
from research.query.run import LICENCE, QueryLimits, run_query

NOW = datetime(2026, 3, 1, tzinfo=UTC)
DAY = date(2026, 2, 10)


def fill(research: Research) -> None:
    """Six households in 108x (released) and three in 205x (below k = 5: never shown)."""
    for i, postcode in enumerate(["1081"] * 6 + ["2050"] * 3):
        e = research.enrol(postcode)
        up = research.uploader(e)
        hid = household_id()
        for day in (DAY, date(2026, 2, 11)):
            r = up.send(batch(hid, day, prefix=postcode[:3] + "x", seed=float(i)))
            assert r.status_code == 200, r.text


def researcher_key(research: Research, email: str = "ada@uio.no") -> tuple[str, str]:
    user = accounts.apply(
        research.data,
        name="Ada Researcher",
        email=email,
        institution="UiO",
        purpose="Evening peaks",
        password="correct horse battery",
        now=NOW,
    )
    accounts.decide(research.data, user, "approved", NOW)
    return user, accounts.new_api_key(research.data, user, NOW)


def client(research: Research) -> httpx.Client:
    return httpx.Client(
        base_url=research.server.url,
        verify=ssl.create_default_context(cafile=str(research.pki.ca_file)),
        timeout=30,
    )


def query(c: httpx.Client, key: str, sql: str, **extra: Any) -> httpx.Response:
    return c.post("/query", json={"sql": sql, **extra}, headers={"Authorization": f"Bearer {key}"})


def test_a_researcher_queries_the_released_views_in_json_csv_and_parquet(research: Research) -> None:
    fill(research)
    user, key = researcher_key(research)
    with client(research) as c:
        r = query(c, key, "SELECT postcode_prefix, households FROM prefixes ORDER BY 1")
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["licence"] == LICENCE and doc["truncated"] is False
        prefixes = dict(doc["rows"])
        assert prefixes.get("108x") == 6
        assert "205x" not in prefixes  # three households: generalised or withheld, never shown
        assert sum(prefixes.values()) == 9
        # per hour over the households: the month query, as JSON
        hourly = query(
            c,
            key,
            "SELECT hour(ts) AS h, avg(value) AS w FROM readings WHERE channel = 'grid.p_import_w' "
            "GROUP BY 1 ORDER BY 1",
        ).json()
        assert hourly["row_count"] == 24
        csv = query(c, key, "SELECT * FROM households", format="csv")
        assert csv.status_code == 200 and csv.text.startswith(f"# {LICENCE}\n")
        assert csv.text.count("\n") == 2 + 9  # licence, header, nine households
        parquet = query(c, key, "SELECT * FROM readings", format="parquet", limit=100)
        assert parquet.headers["x-truncated"] == "true"
        table = pq.read_table(io.BytesIO(parquet.content))
        assert table.num_rows == 100
        assert table.schema.metadata[b"licence"].decode() == LICENCE
        datasets = c.get("/datasets", headers={"Authorization": f"Bearer {key}"}).json()["datasets"]
        by_name = {d["name"]: d for d in datasets}
        assert by_name["readings"]["coverage"]["households"] == 9
        assert by_name["readings"]["coverage"]["household_days"] == 18
        assert by_name["batches"]["quality"]["days"] == 18
        counted = query(c, key, "SELECT count(*) FROM readings").json()["rows"][0][0]
        assert by_name["readings"]["rows"] == counted  # slots x channels per day, as stored
        # a new household's day shows at once (the overview is kept only while the store is unchanged)
        late = research.enrol("1081")
        assert research.uploader(late).send(batch(household_id(), DAY, prefix="108x")).status_code == 200
        again = c.get("/datasets", headers={"Authorization": f"Bearer {key}"}).json()["datasets"]
        assert {d["name"]: d for d in again}["readings"]["coverage"]["households"] == 10
        one = c.get("/datasets/readings", headers={"Authorization": f"Bearer {key}"})
        assert one.status_code == 200 and "grid.p_import_w" in one.json()["channels"]
        assert c.get("/datasets/enrolments", headers={"Authorization": f"Bearer {key}"}).status_code == 404
    log = accounts.access_log(research.data, user)
    assert [row["what"] for row in log][:2] == ["query", "query"]
    assert log[0]["rows"] == len(prefixes) and log[0]["via"] == "api" and log[0]["outcome"] == "ok"
    assert any(row["what"] == "datasets" for row in log)


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT * FROM read_parquet('/etc/passwd')", "table functions are not allowed"),
        ("SELECT * FROM read_csv('server.sqlite')", "table functions are not allowed"),
        ("SELECT * FROM 'register.sqlite'", "no table 'register.sqlite'"),
        ("SELECT read_text('/etc/passwd')", "read_text() is not allowed"),
        ("SELECT token_sha256 FROM enrolments", "no table 'enrolments'"),
        ("SELECT * FROM contacts", "no table 'contacts'"),
        ("SELECT * FROM api_keys", "no table 'api_keys'"),
        ("ATTACH 'server.sqlite' AS s", "read-only SELECT only"),
        ("COPY readings TO '/tmp/x.csv'", "read-only SELECT only"),
        ("INSTALL httpfs", "read-only SELECT only"),
        ("LOAD httpfs", "read-only SELECT only"),
        ("DELETE FROM readings", "read-only SELECT only"),
        ("PRAGMA database_list", "read-only SELECT only"),
        ("SELECT * FROM duckdb_settings()", "table functions are not allowed"),
        ("SELECT getenv('HOME')", "getenv() is not allowed"),
        ("SELECT 1; SELECT 2", "one statement only"),
        ("SELECT * FROM information_schema.tables", "qualified names are not allowed"),
    ],
)
def test_a_query_reaching_outside_the_released_views_fails_safe_with_a_reason(
    research: Research, sql: str, reason: str
) -> None:
    _, key = researcher_key(research)
    with client(research) as c:
        r = query(c, key, sql)
    assert r.status_code == 400
    assert reason in r.json()["error"]


def test_the_engine_stops_an_endless_query_and_cannot_read_files(research: Research) -> None:
    fill(research)
    endless = "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT max(n) FROM t"
    with pytest.raises(QueryRefused, match=r"ran too long|needs more than"):
        run_query(research.data, 5, endless, QueryLimits(seconds=1.0, memory_limit="200MB"))
    # the engine is the second line: even a view the parser allows cannot reach a file
    with pytest.raises(QueryRefused, match="failed"):
        run_query(
            research.data,
            5,
            "SELECT * FROM readings WHERE value = (SELECT 1 FROM readings, (SELECT 1) x WHERE 1/0)",
            QueryLimits(),
        )


def test_wrong_and_revoked_keys_are_refused(research: Research) -> None:
    user, key = researcher_key(research)
    with client(research) as c:
        assert query(c, "hems-rk-wrong", "SELECT 1").status_code == 401
        assert query(c, key, "SELECT 1").status_code == 200
        accounts.decide(research.data, user, "revoked", NOW, "left the project")
        refused = query(c, key, "SELECT 1")
        assert refused.status_code == 401 and "revoked" in refused.json()["error"]
        assert c.get("/datasets", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert accounts.log_in(research.data, "ada@uio.no", "correct horse battery", NOW) is None


def test_a_job_answer_is_for_researchers_and_only_once_k_homes_answered(research: Research) -> None:
    doc = {
        "title": "Mean load by hour",
        "purpose": "Evening peaks",
        "researcher": "Ada Researcher, UiO",
        "categories": ["household"],
        "expires_at": "2099-01-01T00:00:00+00:00",
        "period": {"start": "2026-01-01", "end": "2026-02-01"},
        "channels": ["grid.p_import_w"],
        "sql": "SELECT hour, AVG(mean) AS mean_w FROM series_15m GROUP BY hour",
        "keys": ["hour"],
        "outputs": [{"name": "mean_w", "kind": "mean"}],
        "budget": {"cpu_seconds": 10, "rows_read": 1000000, "output_cells": 1000, "memory_mb": 128},
        "k": 5,
    }
    job_id = jobs.submit(research.data, jobs.complete(doc, NOW, None), submitter="test", now=NOW).job.id
    _, key = researcher_key(research)
    with client(research) as c:
        assert c.get(f"/jobs/{job_id}/result", headers={"Authorization": "Bearer nope"}).status_code == 401
        waiting = c.get(f"/jobs/{job_id}/result", headers={"Authorization": f"Bearer {key}"})
        assert waiting.status_code == 409 and "not yet: 0 of the 5 homes" in waiting.json()["error"]
        assert c.get("/jobs/none/result", headers={"Authorization": f"Bearer {key}"}).status_code == 404


def test_the_command_line_manages_researchers(
    research: Research, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = str(research.data.root)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    args = ["--name", "Bo", "--email", "bo@ntnu.no", "--institution", "NTNU", "--purpose", "Heat pumps"]
    assert main(["research", "researcher", "apply", "--data", data, *args, "--password-stdin", "--json"]) == 0
    user = json.loads(capsys.readouterr().out)["user_id"]
    assert main(["research", "researcher", "key", user, "--data", data]) == 2
    assert "only an approved researcher" in capsys.readouterr().err
    assert main(["research", "researcher", "approve", user, "--data", data]) == 0
    assert "approved" in capsys.readouterr().out
    assert main(["research", "researcher", "key", user, "--data", data, "--json"]) == 0
    key = json.loads(capsys.readouterr().out)["api_key"]
    assert accounts.researcher_from_api_key(research.data, key) is not None
    assert main(["research", "researcher", "list", "--data", data]) == 0
    assert "approved" in capsys.readouterr().out
    assert main(["research", "researcher", "revoke", "nobody", "--data", data]) == 2
    assert "no researcher 'nobody'" in capsys.readouterr().err
    assert main(["research", "researcher", "revoke", user, "--data", data]) == 0
    assert accounts.researcher_from_api_key(research.data, key) is None


def test_a_researcher_submits_a_job_with_her_key_and_a_bad_one_is_refused_with_the_reason(
    research: Research,
) -> None:
    user, key = researcher_key(research)
    job = {
        "id": "evening-by-hour",
        "title": "Mean load by hour",
        "purpose": "Evening peaks",
        "categories": ["household"],
        "expires_at": "2099-01-01T00:00:00+00:00",
        "period": {"start": "2026-01-01", "end": "2026-02-01"},
        "channels": ["grid.p_import_w"],
        "sql": "SELECT hour, AVG(mean) AS mean_w FROM series_15m GROUP BY hour",
        "keys": ["hour"],
        "outputs": [{"name": "mean_w", "kind": "mean"}],
        "budget": {"cpu_seconds": 10, "rows_read": 1000000, "output_cells": 1000, "memory_mb": 128},
        "k": 5,
    }
    auth = {"Authorization": f"Bearer {key}"}
    with client(research) as c:
        made = c.post("/jobs", json=job, headers=auth)
        assert made.status_code == 201, made.text
        assert made.json()["submitter"] == user and made.json()["researcher"] == "Ada Researcher, UiO"
        assert c.post("/jobs", json=job, headers=auth).status_code == 422  # the same id again
        write = c.post("/jobs", json={**job, "id": "w", "sql": "DELETE FROM series_15m"}, headers=auth)
        assert write.status_code == 422 and "every box would refuse it" in write.json()["error"]
        assert c.post("/jobs", json=job, headers={"Authorization": "Bearer no"}).status_code == 401
    log = [r for r in accounts.access_log(research.data, user) if r["what"] == "job"]
    assert [r["outcome"].split(":")[0] for r in log] == ["ok", "refused", "refused"]
