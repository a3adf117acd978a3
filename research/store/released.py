"""The released data: THE ONLY way researchers (portal, query API, comparison, jobs) see the store.

`released_connection` opens an in-memory DuckDB whose views read the Parquet files as they are at
query time, with each household's postcode prefix replaced by its released label
(research.privacy.release_prefixes: below k households generalised, e.g. ``108x`` → ``10xx``, or
withheld as NULL). The received prefix is never reachable: it is not a column of any view, and the
connection may read nothing outside DIR/store (DuckDB's ``allowed_directories``, with external
access off and the configuration locked).

Views:

- ``households``: household_id, postcode_prefix (released), simulated
- ``batches``: one row per received day: site facts (with heating, pv, ev: null when the box did
  not send them), interval, summary (JSON), quality_ok, flags,
  quality (JSON details)
- ``readings``: household_id, postcode_prefix, day, channel, slot, ts (UTC), value, resolution_s,
  simulated, quality_ok
- ``prefixes``: postcode_prefix (released), households

k counts real households only: a simulated household (``"simulated": true``, the digital twin) never
makes a group look bigger than it is; a prefix that only simulated households use is released as is.
A household that appears after the connection opened is left out of it until the next one. The
views are built once per state of the batch files and shared by cursors (`released_connection`).
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import duckdb
import pyarrow as pa

from research.paths import DataDir
from research.privacy import release_prefixes
from research.store import layout
from research.store.tables import BATCHES_SCHEMA, READINGS_SCHEMA

_BATCH_COLUMNS = [f.name for f in BATCHES_SCHEMA if f.name not in ("postcode_prefix",)]
#: SQL types of the batches columns a store written before them may lack
_SQL_TYPES = {"heating": "VARCHAR", "pv": "BOOLEAN", "ev": "BOOLEAN"}


def _source(con: duckdb.DuckDBPyConnection, data: DataDir, table: str, schema: pa.Schema) -> str:
    """A FROM-clause over the table's files, or over an empty table of its schema when there are none."""
    if layout.table_files(data.store, table):
        glob = layout.table_glob(data.store, table).replace("'", "''")
        # batches gained columns (heating, pv, ev): its files are read by name, which opens every
        # file to bind; readings' columns never changed, so binding reads one file (0.3 s less a year)
        return f"read_parquet('{glob}', union_by_name = {str(table == 'batches').lower()})"
    con.register(f"_empty_{table}", pa.Table.from_pylist([], schema=schema))
    con.execute(f"CREATE TABLE _none_{table} AS SELECT * FROM _empty_{table}")
    con.unregister(f"_empty_{table}")
    return f"_none_{table}"


def household_prefixes(con: duckdb.DuckDBPyConnection, batches: str) -> list[tuple[str, str | None, bool]]:
    """(household_id, received prefix, simulated) per household in the store."""
    rows = con.execute(
        f"SELECT household_id, arg_max(postcode_prefix, day), bool_or(coalesce(simulated, false)) "
        f"FROM {batches} GROUP BY household_id"
    ).fetchall()
    return [(str(h), p, bool(s)) for h, p, s in rows]


def released_labels(households: list[tuple[str, str | None, bool]], k: int) -> dict[str, str | None]:
    """household_id → released prefix label (None: withheld or unknown)."""
    real = Counter(p for _, p, sim in households if p is not None and not sim)
    release = release_prefixes(real, k)
    labels: dict[str, str | None] = {}
    for household, prefix, _ in households:
        labels[household] = (
            None if prefix is None else release.get(prefix, prefix if not real[prefix] else None)
        )
    return labels


_found: dict[str, tuple[tuple[int, int, int], list[tuple[str, str | None, bool]], set[str]]] = {}
_found_lock = threading.Lock()


def batch_files_state(data: DataDir) -> tuple[int, int, int]:
    """What changes whenever any household's prefix, simulated flag or presence can: the batch
    files' number, total size and latest modification (every upload, compaction and deletion
    writes or removes one)."""
    stats = [f.stat() for f in layout.table_files(data.store, "batches") if f.exists()]
    return len(stats), sum(s.st_size for s in stats), max((s.st_mtime_ns for s in stats), default=0)


def _households(
    con: duckdb.DuckDBPyConnection, data: DataDir, batches: str
) -> tuple[list[tuple[str, str | None, bool]], set[str]]:
    """`household_prefixes` of the store and the batch files' columns, read again only when its
    batch files changed (the columns: `union_by_name` opens every file, 0.5 s for a year's)."""
    key = str(data.store.resolve())
    state = batch_files_state(data)
    with _found_lock:
        cached = _found.get(key)
    if cached is not None and cached[0] == state:
        return list(cached[1]), set(cached[2])
    found = household_prefixes(con, batches)
    present = {d[0] for d in con.execute(f"SELECT * FROM {batches} LIMIT 0").description}
    if batch_files_state(data) == state:  # nothing was written while it was read
        with _found_lock:
            _found[key] = (state, found, present)
    return found, present


#: released databases by (store, k, memory limit, threads): the batch files' state they were built
#: for, and the database; a connection is a cursor on it (its own temp objects and interrupts)
_Key = tuple[str, int, str | None, int | None]
_built: dict[_Key, tuple[tuple[int, int, int], duckdb.DuckDBPyConnection]] = {}
#: replaced databases stay open a while for the queries still running on them (closing a database
#: closes its cursors); closed once older than this [s]
RETIRE_S = 600.0
_retired: list[tuple[float, duckdb.DuckDBPyConnection]] = []
_built_lock = threading.Lock()


def released_connection(
    data: DataDir, k: int, *, memory_limit: str | None = None, threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with read-only views over the store, prefixes below ``k`` generalised;
    ``memory_limit`` (e.g. ``"512MB"``) and ``threads`` bound what a query may take.

    The views are built once per state of the batch files (every upload, compaction and deletion
    changes it) and each caller gets a cursor of its own: opening them took 0.3–0.5 s on a year's
    store, a cursor takes microseconds. Close the connection when done."""
    key = (str(data.store.resolve()), k, memory_limit, threads)
    state = batch_files_state(data)
    with _built_lock:
        cached = _built.get(key)
        if cached is not None and cached[0] == state:
            return cached[1].cursor()
    con = _build(data, k, memory_limit=memory_limit, threads=threads)
    if batch_files_state(data) != state:  # written while it was built: this one is not kept
        return con
    now = time.monotonic()
    with _built_lock:
        old = _built.get(key)
        _built[key] = (state, con)
        if old is not None:
            _retired.append((now, old[1]))
        while _retired and now - _retired[0][0] > RETIRE_S:
            _retired.pop(0)[1].close()
    return con.cursor()


def _build(
    data: DataDir, k: int, *, memory_limit: str | None = None, threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    batches = _source(con, data, "batches", BATCHES_SCHEMA)
    readings = _source(con, data, "readings", READINGS_SCHEMA)
    found, present = _households(con, data, batches)
    labels = released_labels(found, k)
    sim = {h: s for h, _, s in found}
    con.register(
        "_labels",
        pa.table(
            {
                "household_id": pa.array(list(labels), pa.string()),
                "postcode_prefix": pa.array(list(labels.values()), pa.string()),
                "simulated": pa.array([sim[h] for h in labels], pa.bool_()),
            }
        ),
    )
    con.execute("CREATE TABLE households AS SELECT * FROM _labels")
    con.unregister("_labels")
    columns = ", ".join(
        f"b.{c}" if c in present else f"CAST(NULL AS {_SQL_TYPES[c]}) AS {c}"  # a store older than c
        for c in _BATCH_COLUMNS
        if c != "household_id"
    )
    con.execute(
        f"CREATE VIEW batches AS SELECT b.household_id, h.postcode_prefix, {columns} "
        f"FROM {batches} b JOIN households h USING (household_id)"
    )
    con.execute(
        "CREATE VIEW readings AS SELECT r.household_id, h.postcode_prefix, r.day, r.channel, r.slot, "
        "r.ts, r.value, r.resolution_s, h.simulated, q.quality_ok "
        f"FROM {readings} r JOIN households h USING (household_id) "
        f"JOIN (SELECT household_id, day, quality_ok FROM {batches}) q USING (household_id, day)"
    )
    con.execute(
        "CREATE VIEW prefixes AS SELECT postcode_prefix, count(*) AS households "
        "FROM households GROUP BY postcode_prefix"
    )
    store = str(data.store.resolve())
    con.execute("SET allowed_directories = ?", [[store + "/"]])
    if memory_limit is not None:
        con.execute(f"SET memory_limit = '{int(duckdb_bytes(memory_limit))}B'")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def duckdb_bytes(size: str) -> int:
    """``"512MB"`` → bytes (KB, MB, GB; 1000-based like DuckDB's own units)."""
    units = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "B": 1}
    text = size.strip().upper()
    for unit, factor in units.items():
        if text.endswith(unit) and text[: -len(unit)].strip().replace(".", "", 1).isdigit():
            return int(float(text[: -len(unit)]) * factor)
    raise ValueError(f"memory limit {size!r}: expected e.g. 512MB")
