"""The watched worker: killed over its budget, stopped at its rows and cells, walled in by SQLite's
authorizer even if the SQL check were bypassed, and k enforced on every group."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from jobs_testing import job_doc, make_job, twin_db

from hems.research_jobs.runner import run_checked
from wire.jobcheck import check_job
from wire.jobs import Job

CHANNELS = ["grid.p_import_w", "circuit.fridge.p_w"]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return twin_db(tmp_path_factory.mktemp("home") / "home.db", 7)


def count_job(sql: str, **changes: object) -> Job:
    doc = job_doc(sql=sql, keys=["hour"], outputs=[{"name": "n", "kind": "count"}])
    doc.update(changes)
    return Job.from_dict(doc)


def test_an_endless_recursive_query_is_killed_at_its_cpu_budget(home: Path) -> None:
    job = count_job(
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r)"
        " SELECT hour, COUNT(*) AS n FROM series_1h WHERE mean > (SELECT MAX(i) FROM r) GROUP BY hour",
        budget={"cpu_seconds": 1, "rows_read": 10**9, "output_cells": 1000, "memory_mb": 4096},
    )
    started = time.monotonic()
    outcome = run_checked(check_job(job), home, channels=CHANNELS, facts={}, k=4)
    assert not outcome.ok and outcome.killed
    assert outcome.reason is not None and outcome.reason.startswith("killed: over budget:")
    assert "CPU seconds" in outcome.reason
    assert 1.0 <= outcome.usage["cpu_s"] < 3.0
    assert time.monotonic() - started < 20


def test_memory_over_budget_is_stopped(home: Path) -> None:
    job = count_job(
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 3000000)"
        " SELECT hour, COUNT(*) AS n FROM series_1h WHERE mean > (SELECT COUNT(*) FROM"
        " (SELECT i || 'padding-padding-padding-padding-padding-padding' AS s FROM r ORDER BY s DESC))"
        " GROUP BY hour",
        budget={"cpu_seconds": 30, "rows_read": 10**9, "output_cells": 1000, "memory_mb": 64},
    )
    outcome = run_checked(check_job(job), home, channels=CHANNELS, facts={}, k=4)
    assert not outcome.ok
    assert outcome.reason is not None and "over budget" in outcome.reason and "memory" in outcome.reason


def test_rows_read_are_counted_on_every_scan_and_stop_the_job(home: Path) -> None:
    sql = "SELECT hour, COUNT(*) AS n FROM series_1h WHERE channel = 'grid.p_import_w' GROUP BY hour"
    ok = run_checked(check_job(count_job(sql)), home, channels=CHANNELS, facts={}, k=1)
    assert ok.ok, ok.reason
    stored = ok.usage["rows_read"]
    assert stored == 2 * 48  # two channels, 48 closed hours: the filter does not make rows free
    self_join = (
        "SELECT a.hour AS hour, COUNT(*) AS n FROM series_1h a JOIN series_1h b ON a.t = b.t GROUP BY a.hour"
    )
    joined = run_checked(check_job(count_job(self_join)), home, channels=CHANNELS, facts={}, k=1)
    assert joined.ok and joined.usage["rows_read"] > stored
    tight = count_job(sql, budget={"cpu_seconds": 10, "rows_read": stored - 1, "output_cells": 1000})
    stopped = run_checked(check_job(tight), home, channels=CHANNELS, facts={}, k=1)
    assert not stopped.ok and not stopped.killed
    assert stopped.reason == f"over budget: it read more than {stored - 1} rows"


def test_output_cells_over_budget_stop_the_job(home: Path) -> None:
    job = count_job(
        "SELECT hour, COUNT(*) AS n FROM series_1h GROUP BY hour",
        budget={"cpu_seconds": 10, "rows_read": 10_000, "output_cells": 20},
    )
    outcome = run_checked(check_job(job), home, channels=CHANNELS, facts={}, k=1)
    assert outcome.reason == "over budget: the result has more than 20 cells"


def test_groups_under_k_never_leave(home: Path) -> None:
    job = count_job(
        "SELECT hour, COUNT(*) AS n FROM series_1h WHERE channel = 'grid.p_import_w' GROUP BY hour"
    )
    two_days = run_checked(check_job(job), home, channels=CHANNELS, facts={}, k=2)
    assert two_days.ok and len(two_days.groups) == 24 and two_days.suppressed == 0
    three = run_checked(check_job(job), home, channels=CHANNELS, facts={}, k=3)
    assert three.ok and three.groups == [] and three.suppressed == 24


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("SELECT hour, COUNT(*) AS n FROM _hems_series_1h GROUP BY hour", "not authorized"),
        ("SELECT type AS hour, COUNT(*) AS n FROM sqlite_master GROUP BY type", "not authorized"),
        ("SELECT hour, COUNT(_hems_read(1)) AS n FROM series_1h GROUP BY hour", "not authorized"),
        ("SELECT hour, COUNT(load_extension('x')) AS n FROM series_1h GROUP BY hour", "not authorized"),
        ("SELECT hour, COUNT(sqlite_version()) AS n FROM series_1h GROUP BY hour", "not authorized"),
        ("ATTACH DATABASE 'copy.db' AS x", "not authorized"),
        ("PRAGMA writable_schema = ON", "not authorized"),
        ("DELETE FROM _hems_series_1h", "not authorized"),
    ],
)
def test_the_authorizer_stops_what_the_check_would_have_refused(home: Path, sql: str, words: str) -> None:
    """Defence in depth: SQL that never passed `check_job` is still stopped inside the worker."""
    checked = dataclasses.replace(
        check_job(count_job("SELECT hour, COUNT(*) AS n FROM series_1h GROUP BY hour")), sql=sql
    )
    outcome = run_checked(checked, home, channels=CHANNELS, facts={}, k=1)
    assert not outcome.ok
    assert outcome.reason is not None and words in outcome.reason


def test_a_text_result_is_refused(home: Path) -> None:
    job = make_job(
        sql="SELECT hour, MAX(channel) AS high FROM series_1h GROUP BY hour",
        outputs=[{"name": "high", "kind": "max"}],
    )
    outcome = run_checked(check_job(job), home, channels=CHANNELS, facts={}, k=1)
    assert outcome.reason == "output high is not a number: a result carries numbers only"


def test_facts_views_carry_only_their_documented_columns(home: Path) -> None:
    job = make_job(
        categories=["household", "circuits"],
        sql="SELECT network, line, COUNT(*) AS n, SUM(breaker_a) AS fuse FROM circuits, site"
        " GROUP BY network, line",
        keys=["network", "line"],
        outputs=[{"name": "n", "kind": "count"}, {"name": "fuse", "kind": "sum"}],
    )
    facts = {
        "site": [
            {
                "country": "NO",
                "postcode_prefix": "108x",
                "timezone": "Europe/Oslo",
                "network": "TN",
                "main_fuse_a": 25.0,
            }
        ],
        "circuits": [
            {"id": f"c{i}", "line": "L1", "breaker_a": 16.0, "curve": "C", "metered": 1} for i in range(3)
        ],
    }
    outcome = run_checked(check_job(job), home, channels=CHANNELS, facts=facts, k=2)
    assert outcome.ok, outcome.reason
    assert outcome.groups == [{"key": ["TN", "L1"], "values": {"n": {"count": 3.0}, "fuse": {"sum": 48.0}}}]
