"""The scale-out path (issue 17): the store's Parquet files, read unchanged by Apache Spark in local
mode, give the researcher queries the same answers as DuckDB through `released_connection` and as the
researchers' API (issue 18)."""

from __future__ import annotations

import math
import shutil
from datetime import date

import pytest
from research_testing import Research, batch, household_id
from test_researchers import client, query, researcher_key

from research.store import layout
from research.store.released import household_prefixes, released_connection, released_labels

DAYS = (date(2026, 3, 2), date(2026, 3, 3))
HOMES = {"1081": 5, "1071": 2, "1092": 3, "2001": 1}
K = 5

#: the researcher query of issue 18: mean import by released prefix and local hour
DUCKDB_QUERY = """
SELECT postcode_prefix, hour(ts AT TIME ZONE 'Europe/Oslo') AS hour, avg(value) AS mean_w, count(*) AS n
FROM readings WHERE channel = 'grid.p_import_w' AND value IS NOT NULL AND postcode_prefix IS NOT NULL
GROUP BY ALL ORDER BY ALL
"""
SPARK_QUERY = """
SELECT h.postcode_prefix, hour(from_utc_timestamp(r.ts, 'Europe/Oslo')) AS hour, avg(r.value) AS mean_w,
       count(*) AS n
FROM readings r JOIN households h ON r.household_id = h.household_id
WHERE r.channel = 'grid.p_import_w' AND r.value IS NOT NULL AND h.postcode_prefix IS NOT NULL
GROUP BY h.postcode_prefix, hour(from_utc_timestamp(r.ts, 'Europe/Oslo')) ORDER BY 1, 2
"""


@pytest.mark.scale
@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17 (the README's install)")
def test_spark_reads_the_same_files_with_the_same_answers(research: Research) -> None:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    for postcode, n in HOMES.items():
        for i in range(n):
            up = research.uploader(research.enrol(postcode))
            hid = household_id()
            for day in DAYS:
                sent = batch(hid, day, prefix=postcode[:3] + "x", seed=float(i))
                assert up.send(sent).status_code == 200
    con = released_connection(research.data, K)
    duck = con.execute(DUCKDB_QUERY).fetchall()
    # the researcher's own path, POST /v1/query over HTTPS, answers the same
    _, key = researcher_key(research)
    with client(research) as c:
        api = query(c, key, DUCKDB_QUERY).json()["rows"]
    assert [tuple(r) for r in api] == [tuple(r) for r in duck]
    assert {row[0] for row in duck} == {"108x", "10xx"}  # 107x and 109x pooled, 200x withheld

    # Spark gets the same release rule as data (the labels), and reads the Parquet files as they are
    batches = layout.table_glob(research.data.store, "batches")
    raw = con.execute("SELECT 1").fetchall()  # the connection is locked to the store; labels via duckdb
    assert raw == [(1,)]
    import duckdb

    plain = duckdb.connect()
    labels = released_labels(household_prefixes(plain, f"read_parquet('{batches}', union_by_name = true)"), K)
    spark = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("hems-research-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    try:
        readings = spark.read.option("basePath", str(research.data.store / "readings")).parquet(
            str(research.data.store / "readings" / "household=*" / "month=*" / "*.parquet")
        )
        readings.createOrReplaceTempView("readings")
        spark.createDataFrame(
            [(h, p) for h, p in labels.items()], "household_id string, postcode_prefix string"
        ).createOrReplaceTempView("households")
        rows = [tuple(r) for r in spark.sql(SPARK_QUERY).collect()]
    finally:
        spark.stop()
    assert len(rows) == len(duck)
    for (p1, h1, m1, n1), (p2, h2, m2, n2) in zip(duck, rows, strict=True):
        assert (p1, h1, n1) == (p2, h2, n2)
        assert math.isclose(m1, m2, rel_tol=1e-9)
