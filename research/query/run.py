"""Run a checked researcher query on the released views, bounded: rows, time, memory, threads.

The result is an Arrow table of at most ``row_limit`` rows (``truncated`` says when there were more),
written as JSON, CSV or Parquet; CSV and Parquet carry the ENTRANS licence line (a leading comment
line in CSV, the schema's metadata in Parquet), so a downloaded file keeps it wherever it goes.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from research.paths import DataDir
from research.query.check import QueryRefused, check_sql
from research.store.released import released_connection

LICENCE = (
    "The data in this report were provided by the Department of Technology Systems (ITS) at the "
    "University of Oslo (UiO) as part of the ENTRANS energy data framework agreement"
)
FORMATS = ("json", "csv", "parquet")
MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}


@dataclass(frozen=True)
class QueryLimits:
    row_limit: int = 100_000  #: rows returned at most
    seconds: float = 30.0  #: wall time before the query is interrupted [s]
    memory_limit: str = "1GB"
    threads: int = 2
    wait_s: float = 20.0  #: how long a query waits for one of the `CONCURRENT` turns [s]


#: queries running at once on the server (each may take `memory_limit` and `threads`)
CONCURRENT = 2
_TURNS = threading.BoundedSemaphore(CONCURRENT)


class QueryBusy(QueryRefused):
    """Every turn is taken for longer than the query waits (503: try again)."""


@dataclass(frozen=True)
class Answer:
    table: pa.Table
    truncated: bool  #: more rows existed than the limit let out
    row_limit: int


def run_query(data: DataDir, k: int, sql: str, limits: QueryLimits) -> Answer:
    """Check and run ``sql``; `QueryRefused` with the reason when it is refused, fails or runs too long
    (`QueryBusy` when `CONCURRENT` queries are running and none finishes within ``wait_s``)."""
    check_sql(sql)
    if not _TURNS.acquire(timeout=limits.wait_s):
        raise QueryBusy(f"{CONCURRENT} queries are running: try again in a minute")
    try:
        return _run(data, k, sql, limits)
    finally:
        _TURNS.release()


def _run(data: DataDir, k: int, sql: str, limits: QueryLimits) -> Answer:
    con = released_connection(data, k, memory_limit=limits.memory_limit, threads=limits.threads)
    timer = threading.Timer(limits.seconds, con.interrupt)
    timer.start()
    try:
        reader = con.sql(sql).to_arrow_reader(min(limits.row_limit + 1, 100_000))
        if reader is None:
            raise QueryRefused("the query gave no result set")
        batches: list[pa.RecordBatch] = []
        rows = 0
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            if rows > limits.row_limit:
                break
        table = pa.Table.from_batches(batches, schema=reader.schema)
    except duckdb.InterruptException:
        raise QueryRefused(f"stopped after {limits.seconds:g} s: the query ran too long") from None
    except duckdb.OutOfMemoryException:
        raise QueryRefused(f"stopped: the query needs more than {limits.memory_limit} of memory") from None
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0][:300]
        raise QueryRefused(f"the query failed: {first}") from None
    finally:
        timer.cancel()
        con.close()
    truncated = table.num_rows > limits.row_limit
    return Answer(table.slice(0, limits.row_limit) if truncated else table, truncated, limits.row_limit)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def to_json(answer: Answer) -> bytes:
    rows = [[_plain(v) for v in row.values()] for row in answer.table.to_pylist()]
    doc = {
        "columns": answer.table.column_names,
        "rows": rows,
        "row_count": len(rows),
        "truncated": answer.truncated,
        "row_limit": answer.row_limit,
        "licence": LICENCE,
    }
    return json.dumps(doc, ensure_ascii=False, default=str).encode("utf-8")


def to_csv(table: pa.Table, truncated: bool = False) -> bytes:
    out = io.StringIO()
    out.write(f"# {LICENCE}\n")
    if truncated:
        out.write("# truncated: more rows matched than the row limit let out\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        writer.writerow(["" if v is None else _plain(v) for v in row.values()])
    return out.getvalue().encode("utf-8")


def to_parquet(table: pa.Table, truncated: bool = False) -> bytes:
    metadata = dict(table.schema.metadata or {})
    metadata[b"licence"] = LICENCE.encode("utf-8")
    metadata[b"truncated"] = b"true" if truncated else b"false"
    sink = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(metadata), sink, compression="zstd")
    return sink.getvalue()


def encode(answer: Answer, fmt: str) -> bytes:
    if fmt == "csv":
        return to_csv(answer.table, answer.truncated)
    if fmt == "parquet":
        return to_parquet(answer.table, answer.truncated)
    return to_json(answer)
