"""The released datasets as researchers see them: what each holds and how well it covers the study.

Computed from the released views each time (never from anything a researcher cannot query): for
each view its rows, households, days and date range; for the readings their channels and
resolutions; for the batches the conformity flags raised and how many days passed every check.
Coverage comes from the batches (one row per household-day, each holding its slots and channels),
so describing the readings never scans them: their rows are the days' slots × channels.
"""

from __future__ import annotations

import copy
import logging
import threading
from datetime import UTC, datetime
from typing import Any

import duckdb

from research.paths import DataDir
from research.store.layout import households_in_store
from research.store.released import batch_files_state, released_connection

log = logging.getLogger(__name__)

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


#: (store, k) → (batch files' state, households in the store, when computed, the overview)
_Overview = tuple[tuple[int, int, int], frozenset[str], datetime, list[dict[str, Any]]]
_overviews: dict[tuple[str, int], _Overview] = {}
_refreshing: set[tuple[str, int]] = set()
_lock = threading.Lock()


def overview(data: DataDir, k: int) -> list[dict[str, Any]]:
    """Every dataset, described over one connection (opening one reads every household's labels);
    kept until the store changes (`batch_files_state`), so the datasets page does not rescan the store."""
    key = (str(data.root.resolve()), k)
    state = batch_files_state(data)
    with _lock:
        cached = _overviews.get(key)
    if cached is not None and cached[0] == state:
        return copy.deepcopy(cached[3])
    homes = frozenset(households_in_store(data.store))
    con = released_connection(data, k)
    try:
        facts = _batch_facts(con)
        docs = [_describe(con, name, facts) for name in DESCRIPTIONS]
    finally:
        con.close()
    with _lock:
        _overviews[key] = (state, homes, datetime.now(UTC), docs)
    return copy.deepcopy(docs)


def overview_at_once(data: DataDir, k: int) -> tuple[list[dict[str, Any]], datetime | None]:
    """The overview for a page: exact, or — when only new days of the same households arrived since
    the last one — the last one at once, with the time it was computed, while it is computed again
    in the background (a year's store takes 1.5 s). A household that came or went is never shown
    stale: the overview is then computed before the answer."""
    key = (str(data.root.resolve()), k)
    state = batch_files_state(data)
    with _lock:
        cached = _overviews.get(key)
    if cached is None or cached[0] == state:
        return overview(data, k), None
    if cached[1] != frozenset(households_in_store(data.store)):
        return overview(data, k), None
    with _lock:
        start = key not in _refreshing
        _refreshing.add(key)
    if start:
        threading.Thread(target=_refresh, args=(data, k, key), daemon=True, name="datasets-refresh").start()
    return copy.deepcopy(cached[3]), cached[2]


def _refresh(data: DataDir, k: int, key: tuple[str, int]) -> None:
    try:
        overview(data, k)
    except Exception:  # the next page asks again; a failure here must not go unnoticed in the log
        log.exception("the datasets overview could not be computed")
    finally:
        with _lock:
            _refreshing.discard(key)


def warm_in_background(data: DataDir, k: int) -> None:
    """Compute the overview (and open the released views) now, so the first page after the server
    starts does not wait for it (1.8 s on a year's store)."""
    key = (str(data.root.resolve()), k)
    with _lock:
        if key in _refreshing:
            return
        _refreshing.add(key)
    threading.Thread(target=_refresh, args=(data, k, key), daemon=True, name="datasets-warm").start()
