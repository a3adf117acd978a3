"""The job's worker process: builds the isolated copy, runs the checked SQL, aggregates, adds noise.

Run by `hems.research_jobs.runner` as ``python -m hems.research_jobs.worker REQUEST.json``; it writes
``{"ok": true, ...}`` or ``{"ok": false, "error": ...}`` to the request's ``result_path``. The parent
watches its CPU time and memory and kills it past the budget; inside, the job's SQL meets a second
wall after `wire.jobcheck`: an SQLite authorizer that allows only reading the views (and their
tables from inside a view), the allowed functions and recursive WITH, and denies everything else
(ATTACH, PRAGMA, writes, any other function). The copy is query-only, attaches nothing, has no
extension loading, and its heap is capped at the job's memory budget. Nothing here touches the
network; the parent uploads the result.
"""

from __future__ import annotations

import bisect
import json
import math
import resource
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wire.jobs import VIEWS, Job, Output
from wire.results import check_key_value
from wire.sketch import QuantileSketch

MAX_TEXT = 1_000_000  #: longest string or blob a job's SQL may build [bytes]


class Stopped(Exception):
    """The job went over its budget or produced what may not leave the box."""


def _histogram(edges: tuple[float, ...]) -> type:
    class Histogram:
        def __init__(self) -> None:
            self.counts = [0] * (len(edges) + 1)

        def step(self, value: Any) -> None:
            if value is None:
                return
            if isinstance(value, str | bytes) or not math.isfinite(value):
                raise ValueError("a histogram counts numbers")
            self.counts[bisect.bisect_right(edges, value)] += 1

        def finalize(self) -> str:
            return json.dumps(self.counts)

    return Histogram


class _Quantiles:
    def __init__(self) -> None:
        self.sketch = QuantileSketch()

    def step(self, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, str | bytes):
            raise ValueError("quantiles are of numbers")
        self.sketch.add(float(value))

    def finalize(self) -> str:
        return json.dumps(self.sketch.to_dict())


def authorizer(
    functions: frozenset[str],
) -> Callable[[int, str | None, str | None, str | None, str | None], int]:
    """SQLite's authorizer for the job's statement: read the views, call ``functions``, nothing else."""
    base_tables = {f"_hems_{v}" for v in VIEWS}

    def check(action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None) -> int:
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_RECURSIVE):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_READ:
            table = (arg1 or "").lower()
            if db is None:  # a WITH table or subquery: not stored anywhere
                return sqlite3.SQLITE_OK
            if db == "main" and (table in VIEWS or (table in base_tables and source in VIEWS)):
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION:
            name = (arg2 or "").lower()
            if name in functions or (name == "_hems_read" and source in VIEWS):
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_DENY

    return check


def _number(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, str | bytes) or not math.isfinite(value):
        raise Stopped(f"output {what} is not a number: a result carries numbers only")
    return float(value)


def _partial(output: Output, columns: dict[str, str], row: dict[str, Any]) -> dict[str, Any]:
    kind = output.kind
    if kind == "histogram":
        return {"counts": json.loads(row[columns["value"]])}
    if kind == "quantiles":
        return {"sketch": json.loads(row[columns["value"]])}
    out: dict[str, Any] = {}
    for part, column in columns.items():
        value = _number(row[column], output.name)
        out[part] = (0.0 if value is None else value) if part in ("sum", "count") else value
    return out


def _cells(output: Output, partial: dict[str, Any]) -> int:
    if output.kind == "quantiles":
        sketch = partial["sketch"]
        return max(1, len(sketch["positive"]) + len(sketch["negative"]) + (1 if sketch["zero"] else 0))
    return output.cells()


def run(request: dict[str, Any]) -> dict[str, Any]:
    from hems.research_jobs.views import build_copy
    from hems.storage import Storage

    job = Job.from_dict(request["job"])
    checked = request["checked"]
    budget = job.budget
    read = 0

    def count_row(_: object) -> int:
        nonlocal read
        read += 1
        if read > budget.rows_read:
            raise Stopped(f"over budget: it read more than {budget.rows_read} rows")
        return 1

    sqlite3.connect(":memory:").execute(f"PRAGMA hard_heap_limit = {budget.memory_mb * 1024 * 1024}")
    storage = Storage.open(request["db"], readonly=True)
    try:
        channels = request["channels"]
        copy = build_copy(
            storage,
            checked["views"],
            start=job.period_start,
            end=job.period_end,
            channels=channels,
            facts=request["facts"],
            count_row=count_row,
        )
    finally:
        storage.close()
    functions = set(request["functions"])
    for name, index in checked["aggregates"].items():
        output = job.outputs[index]
        copy.create_aggregate(name, 1, _histogram(output.edges) if output.kind == "histogram" else _Quantiles)
        functions.add(name.lower())
    copy.execute("PRAGMA temp_store = MEMORY")  # sorts and temporary results never touch a file
    copy.execute("PRAGMA query_only = ON")
    copy.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    copy.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_TEXT)
    if hasattr(copy, "enable_load_extension"):  # builds without extension support lack it
        copy.enable_load_extension(False)
    copy.set_authorizer(authorizer(frozenset(functions)))
    outputs = [(job.outputs[o["index"]], o["columns"]) for o in checked["outputs"]]
    groups: list[dict[str, Any]] = []
    suppressed = cells = 0
    try:
        cursor = copy.execute(checked["sql"])
        names = [d[0].lower() for d in cursor.description]
        for values in cursor:
            row = dict(zip(names, values, strict=True))
            key = [check_key_value(row[k], f"key {k}") for k in checked["keys"]]
            partials = {o.name: _partial(o, cols, row) for o, cols in outputs}
            cells += len(key) + sum(_cells(o, partials[o.name]) for o, _ in outputs)
            if cells > budget.output_cells:
                raise Stopped(f"over budget: the result has more than {budget.output_cells} cells")
            if (row[checked["rows_column"]] or 0) < request["k"]:
                suppressed += 1
                continue
            groups.append({"key": key, "values": partials})
    except sqlite3.Error as exc:
        raise Stopped(_sqlite_reason(exc, read, budget.rows_read)) from None
    except ValueError as exc:  # a key that may not leave (wire.results.check_key_value)
        raise Stopped(str(exc)) from None
    privacy = None
    if job.privacy is not None and groups:
        from hems.research_jobs.dp import Noise

        noise = Noise(job.privacy, job.outputs)
        for group in groups:
            group["values"] = {o.name: noise.apply(o, group["values"][o.name]) for o in job.outputs}
        privacy = noise.describe()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "groups": groups,
        "suppressed": suppressed,
        "privacy": privacy,
        "usage": {
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "rows_read": read,
            "output_cells": cells,
            "peak_rss_mb": _peak_rss_mb(),
        },
    }


def _peak_rss_mb() -> float | None:
    """This process's peak resident memory (VmHWM; ru_maxrss would include the parent's before exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        pass
    return None


def _sqlite_reason(exc: sqlite3.Error, read: int, rows_budget: int) -> str:
    text = str(exc)
    if read > rows_budget:
        return f"over budget: it read more than {rows_budget} rows"
    if "not authorized" in text or "prohibited" in text:
        return f"refused by the box's SQL guard (not authorized: {text}): a job may only read the views"
    if "out of memory" in text.lower():
        return "over budget: out of memory"
    return f"the SQL failed: {text}"


def main(argv: list[str]) -> int:
    request = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    cpu = float(request["job"]["budget"]["cpu_seconds"])
    soft = math.ceil(cpu) + 2  # the parent kills at the budget; this is the backstop if it cannot
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 2))
    try:
        answer: dict[str, Any] = {"ok": True, **run(request)}
    except Stopped as exc:
        answer = {"ok": False, "error": str(exc)}
    except Exception as exc:  # reported to the household, never a traceback in the daemon
        answer = {"ok": False, "error": f"the job failed: {type(exc).__name__}: {exc}"}
    Path(request["result_path"]).write_text(json.dumps(answer), encoding="utf-8")
    return 0 if answer["ok"] else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
