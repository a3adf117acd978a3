"""The privacy analysis for the administrator: households per postcode prefix (received, not released),
the prefixes below k, and the label released data shows for each (research.privacy)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import duckdb

from research.paths import DataDir
from research.privacy import release_prefixes
from research.serverdb import open_server_db
from research.store import layout
from research.store.released import household_prefixes


def privacy_report(data: DataDir, k: int) -> dict[str, Any]:
    if k < 1:
        raise ValueError(f"--k: expected at least 1, got {k}")
    found: list[tuple[str, str | None, bool]] = []
    if layout.table_files(data.store, "batches"):
        con = duckdb.connect(":memory:")
        glob = layout.table_glob(data.store, "batches").replace("'", "''")
        found = household_prefixes(con, f"read_parquet('{glob}', union_by_name = true)")
        con.close()
    real = Counter(p for _, p, sim in found if p is not None and not sim)
    simulated = Counter(p for _, p, sim in found if p is not None and sim)
    with open_server_db(data) as db:
        enrolled = Counter(
            r[0] for r in db.execute("SELECT prefix FROM enrolments WHERE status = 'active'").fetchall()
        )
    release = release_prefixes(real, k)
    rows = []
    for prefix in sorted(set(real) | set(simulated) | set(enrolled)):
        released = release.get(prefix, prefix if simulated[prefix] else None)
        rows.append(
            {
                "prefix": prefix,
                "households": real[prefix],
                "simulated": simulated[prefix],
                "enrolled": enrolled[prefix],
                "below_k": real[prefix] < k and real[prefix] > 0,
                "released_as": released,
            }
        )
    return {
        "k": k,
        "households": sum(real.values()),
        "prefixes": rows,
        "below_k": [r["prefix"] for r in rows if r["below_k"]],
        "notes": [
            "households: real households with data in the store; simulated ones (the digital twin) "
            "never count towards k, and a prefix only they use is released as is.",
            "released_as: the label every researcher-facing view shows "
            "(generalised when below k, null = withheld).",
            "k on the postcode prefix alone is a floor: fuse size, PV, an EV and the data itself "
            "make groups smaller.",
        ],
    }
