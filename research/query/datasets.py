"""The released datasets as researchers see them: what each holds and how well it covers the study.

Computed from the released views each time (never from anything a researcher cannot query): for
each view its rows, households, days and date range; for the readings their channels and
resolutions; for the batches the conformity flags raised and how many days passed every check.
Coverage comes from the batches (one row per household-day, each holding its slots and channels),
so describing the readings never scans them: their rows are the days' slots × channels.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import duckdb

from research.paths import DataDir
from research.store.released import batch_files_state, released_connection

DESCRIPTIONS = {
    "households": "one row per household: pseudonymous id, released postcode prefix, simulated",
    "batches": "one row per household-day received: site facts, interval, summary, quality flags",
    "readings": "per household, day, channel and slot: the value in the channel's unit (_w, _v, _a)",
    "prefixes": "released postcode prefixes and how many households each holds",
}


def dataset_names() -> list[str]:
    return list(DESCRIPTIONS)


def describe(data: DataDir, k: int, name: str) -> dict[str, Any]:
    """Coverage and quality of one dataset; `KeyError` for an unknown name."""
    if name not in DESCRIPTIONS:
        raise KeyError(f"no dataset {name!r}: the datasets are {', '.join(DESCRIPTIONS)}")
    con = released_connection(data, k)
    try:
        return _describe(con, name)
    finally:
        con.close()


def _batch_facts(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Coverage and quality of the whole store, from the batches in one pass (and one for the flags)."""
    row = con.execute(
        "SELECT count(DISTINCT household_id), count(*), min(day), max(day), "
        "coalesce(sum(slots * len(channels)), 0), count(*) FILTER (WHERE quality_ok), "
        "list_sort(list_distinct(flatten(list(channels)))), list_sort(list_distinct(list(resolution_s))) "
        "FROM batches"
    ).fetchone()
    assert row is not None
    households, days, first, last, readings, ok, channels, resolutions = row
    flags = con.execute(
        "SELECT flag, count(*) FROM (SELECT unnest(flags) AS flag FROM batches) "
        "GROUP BY flag ORDER BY 2 DESC, 1"
    ).fetchall()
    return {
        "coverage": {
            "households": households,
            "household_days": days,
            "first_day": None if first is None else first.isoformat(),
            "last_day": None if last is None else last.isoformat(),
        },
        "readings_rows": readings,
        "channels": list(channels or []),
        "resolutions_s": list(resolutions or []),
        "quality": {"days_ok": ok, "days": days, "flags": {f: n for f, n in flags}},
    }


def _describe(
    con: duckdb.DuckDBPyConnection, name: str, facts: dict[str, Any] | None = None
) -> dict[str, Any]:
    columns = [(c, t) for c, t, *_ in con.execute(f"DESCRIBE {name}").fetchall()]
    doc: dict[str, Any] = {
        "name": name,
        "description": DESCRIPTIONS[name],
        "columns": [{"name": c, "type": t} for c, t in columns],
    }
    if name in ("batches", "readings"):
        facts = facts or _batch_facts(con)
        doc["coverage"] = facts["coverage"]
        doc["rows"] = facts["readings_rows"] if name == "readings" else facts["coverage"]["household_days"]
        if name == "readings":
            doc["channels"] = facts["channels"]
            doc["resolutions_s"] = facts["resolutions_s"]
        else:
            doc["quality"] = facts["quality"]
    else:
        doc["rows"] = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]  # type: ignore[index]
        withheld = con.execute("SELECT count(*) FROM households WHERE postcode_prefix IS NULL").fetchone()
        doc["households_prefix_withheld"] = withheld[0] if withheld else 0
    return doc


_overviews: dict[tuple[str, int], tuple[tuple[int, int, int], list[dict[str, Any]]]] = {}
_lock = threading.Lock()


def overview(data: DataDir, k: int) -> list[dict[str, Any]]:
    """Every dataset, described over one connection (opening one reads every household's labels);
    kept until the store changes (`batch_files_state`), so the datasets page does not rescan the store."""
    key = (str(data.root.resolve()), k)
    state = batch_files_state(data)
    with _lock:
        cached = _overviews.get(key)
    if cached is not None and cached[0] == state:
        return copy.deepcopy(cached[1])
    con = released_connection(data, k)
    try:
        facts = _batch_facts(con)
        docs = [_describe(con, name, facts) for name in DESCRIPTIONS]
    finally:
        con.close()
    with _lock:
        _overviews[key] = (state, docs)
    return copy.deepcopy(docs)
