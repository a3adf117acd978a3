"""The released datasets as researchers see them: what each holds and how well it covers the study.

Computed from the released views each time (never from anything a researcher cannot query): for
each view its rows, households, days and date range; for the readings their channels and
resolutions; for the batches the conformity flags raised and how many days passed every check.
Coverage comes from the batches (one row per household-day, each holding its slots and channels),
so describing the readings never scans them: their rows are the days' slots × channels.
"""

from __future__ import annotations

from typing import Any

from research.paths import DataDir
from research.store.released import released_connection

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
        columns = [(c, t) for c, t, *_ in con.execute(f"DESCRIBE {name}").fetchall()]
        doc: dict[str, Any] = {
            "name": name,
            "description": DESCRIPTIONS[name],
            "columns": [{"name": c, "type": t} for c, t in columns],
        }
        if name in ("batches", "readings"):
            # one batch row per household-day: coverage without scanning the readings
            households, days, first, last, rows = con.execute(
                "SELECT count(DISTINCT household_id), count(*), min(day), max(day), "
                "coalesce(sum(slots * len(channels)), 0) FROM batches"
            ).fetchone()  # type: ignore[misc]
            doc["rows"] = rows if name == "readings" else days
            doc["coverage"] = {
                "households": households,
                "household_days": days,
                "first_day": None if first is None else first.isoformat(),
                "last_day": None if last is None else last.isoformat(),
            }
        else:
            doc["rows"] = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]  # type: ignore[index]
        if name == "readings":
            channels = con.execute("SELECT DISTINCT unnest(channels) FROM batches ORDER BY 1").fetchall()
            doc["channels"] = [c for (c,) in channels]
            resolutions = con.execute("SELECT DISTINCT resolution_s FROM batches ORDER BY 1").fetchall()
            doc["resolutions_s"] = [r for (r,) in resolutions]
        if name == "batches":
            ok, total = con.execute(
                "SELECT count(*) FILTER (WHERE quality_ok), count(*) FROM batches"
            ).fetchone()  # type: ignore[misc]
            flags = con.execute(
                "SELECT flag, count(*) FROM (SELECT unnest(flags) AS flag FROM batches) "
                "GROUP BY flag ORDER BY 2 DESC"
            ).fetchall()
            doc["quality"] = {"days_ok": ok, "days": total, "flags": {f: n for f, n in flags}}
        if name in ("households", "prefixes"):
            withheld = con.execute("SELECT count(*) FROM households WHERE postcode_prefix IS NULL").fetchone()
            doc["households_prefix_withheld"] = withheld[0] if withheld else 0
        return doc
    finally:
        con.close()


def overview(data: DataDir, k: int) -> list[dict[str, Any]]:
    return [describe(data, k, name) for name in DESCRIPTIONS]
