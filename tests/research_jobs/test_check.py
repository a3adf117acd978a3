"""The SQL check (wire.jobcheck): what a job may be, and every refusal with its reason."""

from __future__ import annotations

import sqlite3

import pytest
import sqlglot
from jobs_testing import job_doc, make_job

from wire.errors import WireError
from wire.jobcheck import FUNCTIONS, JobRefused, check_job
from wire.jobs import Job


def refusal(sql: str, **changes: object) -> str:
    doc = job_doc(sql=sql, keys=["month"], outputs=[{"name": "n", "kind": "count"}])
    doc.update(changes)
    with pytest.raises(JobRefused) as info:
        check_job(Job.from_dict(doc))
    return str(info.value)


def test_a_good_job_passes_and_is_rewritten_to_mergeable_partials() -> None:
    checked = check_job(make_job())
    assert checked.keys == ("hour",)
    assert checked.views == frozenset({"series_15m"})
    columns = {c.output.name: c.columns for c in checked.outputs}
    assert set(columns["mean_w"]) == {"sum", "count"}  # a mean travels as its sum and count
    assert "COUNT(*) AS _hems_rows" in checked.sql  # the group's rows, for the k check
    assert "_hems_histogram_4(mean) as hist" in checked.sql.lower()  # edges known to the box only
    assert checked.aggregates == {"_hems_histogram_4": 4, "_hems_quantiles_5": 5}


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT month, COUNT(*) AS n FROM frame GROUP BY month", "'frame', which is not one of the views"),
        ("SELECT month, COUNT(*) AS n FROM doc GROUP BY month", "'doc', which is not one of the views"),
        ("SELECT month, COUNT(*) AS n FROM telemetry_state GROUP BY month", "not one of the views"),
        ("SELECT month, COUNT(*) AS n FROM _hems_series_1h GROUP BY month", "not one of the views"),
        ("SELECT month, COUNT(*) AS n FROM sqlite_master GROUP BY month", "not one of the views"),
        ("SELECT month, COUNT(*) AS n FROM main.series_1h GROUP BY month", "plain names"),
        ("SELECT month, COUNT(*) AS n FROM other.series_1h GROUP BY month", "plain names"),
        ("DELETE FROM series_1h", "writes (DELETE)"),
        ("INSERT INTO series_1h (t) VALUES (1)", "writes (INSERT)"),
        ("UPDATE series_1h SET mean = 0", "writes (UPDATE)"),
        ("DROP TABLE series_1h", "drops objects"),
        ("CREATE TABLE x AS SELECT * FROM series_1h", "creates objects"),
        ("ATTACH DATABASE '/var/lib/hems/hems.db' AS box", "attaches another database"),
        ("DETACH box", "detaches"),
        ("PRAGMA table_info(series_1h)", "PRAGMA"),
        ("VACUUM INTO '/tmp/copy.db'", "is a command"),
        ("SELECT readfile('/etc/passwd') AS month, COUNT(*) AS n FROM series_1h GROUP BY 1", "reads a file"),
        (
            "SELECT month, COUNT(writefile('/tmp/x', mean)) AS n FROM series_1h GROUP BY month",
            "writes a file",
        ),
        ("SELECT load_extension('/tmp/evil.so') AS month, COUNT(*) AS n FROM series_1h", "native extension"),
        ("SELECT month, COUNT(*) AS n FROM pragma_table_info('series_1h') GROUP BY month", "table-valued"),
        ("SELECT month, COUNT(*) AS n FROM json_each('[1]') GROUP BY month", "table-valued"),
        ("SELECT month, mean FROM series_1h", "per-slot result"),
        ("SELECT month, t, COUNT(*) AS n FROM series_1h GROUP BY month", "per-slot result"),
        ("SELECT * FROM series_1h", "not aggregates"),
        ("SELECT month, COUNT(*) * 2 AS n FROM series_1h GROUP BY month", "exactly one aggregate call"),
        (
            "SELECT month, SUM(mean) AS n FROM series_1h GROUP BY month",
            "declared count but computed with SUM",
        ),
        ("SELECT month, COUNT(DISTINCT channel) AS n FROM series_1h GROUP BY month", "DISTINCT"),
        ("SELECT month, COUNT(*) OVER () AS n FROM series_1h GROUP BY month", "window function"),
        (
            "SELECT month, MAX(s) AS n FROM"
            " (SELECT month, group_concat(mean) AS s FROM series_1h GROUP BY month)"
            " GROUP BY month",
            "concatenates rows into text",
        ),
        ("SELECT month, COUNT(*) AS n FROM series_1h GROUP BY month; SELECT 1", "exactly one statement"),
        ("SELECT month, COUNT(*) AS n FROM series_1h WHERE mean > ? GROUP BY month", "placeholder"),
        ("SELECT month, COUNT(randomblob(1e9)) AS n FROM series_1h GROUP BY month", "allocates memory"),
        ("SELECT month, COUNT(*) AS n FROM series_1h GROUP BY month", None),
        (
            "SELECT month, COUNT(*) AS n FROM circuits GROUP BY month",
            "'circuits' is not in the job's categories",
        ),
        ("SELEC month FROM", "does not parse"),
        (
            "SELECT month, COUNT(*) AS n, sqlite_version() AS v FROM series_1h GROUP BY month",
            "not a function",
        ),
    ],
)
def test_refused_with_a_reason_before_running(sql: str, reason: str | None) -> None:
    if reason is None:
        check_job(Job.from_dict(job_doc(sql=sql, keys=["month"], outputs=[{"name": "n", "kind": "count"}])))
        return
    assert reason in refusal(sql)


def test_a_channel_outside_the_job_categories_is_refused() -> None:
    sql = "SELECT month, COUNT(*) AS n FROM series_1h GROUP BY month"
    assert "not in the job's categories" in refusal(sql, channels=["circuit.*.p_w"])


def test_differential_privacy_needs_one_view_aggregated_directly() -> None:
    privacy = {"epsilon": 1.0, "bounds": {"m": [0, 10000]}}
    outputs = [{"name": "m", "kind": "mean"}]
    direct = "SELECT month, AVG(mean) AS m FROM series_1h GROUP BY month"
    checked = check_job(Job.from_dict(job_doc(sql=direct, keys=["month"], outputs=outputs, privacy=privacy)))
    assert "MAX(MIN(mean, 10000.0), 0.0)" in checked.sql  # clamped to the declared bounds
    inner = "SELECT month, AVG(mean) AS m FROM series_1h GROUP BY day"
    nested = f"SELECT month, AVG(m) AS m FROM ({inner}) GROUP BY month"
    with pytest.raises(JobRefused, match="one view directly"):
        check_job(Job.from_dict(job_doc(sql=nested, keys=["month"], outputs=outputs, privacy=privacy)))


def test_quantiles_and_extremes_cannot_be_released_with_noise() -> None:
    with pytest.raises(WireError, match="cannot be released with differential privacy"):
        make_job(privacy={"epsilon": 1.0, "bounds": {"mean_w": [0, 20000]}})


def test_a_recursive_query_passes_the_check_and_meets_the_budget_at_run_time() -> None:
    sql = (
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r)"
        " SELECT month, COUNT(*) AS n FROM series_1h WHERE mean > (SELECT MAX(i) FROM r) GROUP BY month"
    )
    check_job(Job.from_dict(job_doc(sql=sql, keys=["month"], outputs=[{"name": "n", "kind": "count"}])))


@pytest.mark.parametrize(
    "call",
    [
        "abs(mean)", "round(mean, 1)", "coalesce(mean, 0)", "ifnull(mean, 0)", "iif(mean > 1, 1, 0)",
        "strftime('%H', t, 'unixepoch')", "date(t, 'unixepoch')", "datetime(t, 'unixepoch')",
        "julianday(local_date)", "unixepoch(local_date)", "substr(channel, 1, 4)", "instr(channel, '.')",
        "lower(channel)", "upper(channel)", "length(channel)", "trim(channel)", "replace(channel, 'a', 'b')",
        "max(mean, 0)", "min(mean, 0)", "floor(mean)", "ceil(mean)", "sqrt(mean)", "pow(mean, 2)",
        "typeof(mean)", "nullif(mean, 0)", "sign(mean)", "exp(1)", "ln(2)", "time(t, 'unixepoch')",
    ],
)  # fmt: skip
def test_allowed_functions_keep_their_sqlite_meaning_through_the_rewrite(call: str) -> None:
    """The box runs sqlglot's regeneration of the SQL: each allowed function must give what SQLite
    gives for the researcher's text, or a sqlglot upgrade would silently change a job."""
    assert call.split("(")[0] in FUNCTIONS
    original = f"SELECT {call} FROM series_1h ORDER BY t"
    regenerated = sqlglot.parse_one(original, read="sqlite").sql("sqlite")
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE series_1h (t INTEGER, local_date TEXT, channel TEXT, mean REAL)")
    db.executemany(
        "INSERT INTO series_1h VALUES (?, ?, ?, ?)",
        [(1767225600 + 3600 * i, "2026-01-01", "grid.p_import_w", 100.0 * i - 150.0) for i in range(5)],
    )
    assert db.execute(regenerated).fetchall() == db.execute(original).fetchall(), regenerated
