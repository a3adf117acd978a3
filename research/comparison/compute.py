"""The comparison figures, computed from the released views only (research.store.released), so a
prefix below k is already pooled or withheld before anything here sees it.

A **counted day** is a batch of a real (not simulated) home whose summary gives a finite, non-negative
``house.import_kwh`` with a ``coverage`` of at least `MIN_COVERAGE` (or none stated). A home belongs
to the group its latest batch of the month names (fuse, heating, pv, ev), under its released prefix.

- ``daily``: per day of the month, the distribution of the day's import [kWh] over the group's homes;
- ``monthly``: the distribution of each home's mean day in the month [kWh/day], over the homes with
  counted days on at least half of the month's days so far (from the 1st to the last counted day of
  any home of the prefix).

Groups are cells of one partition of the prefix: the full key (fuse, heating, pv, ev), or ``all``.
A figure is published for ``all`` when the prefix has at least k homes, and for a group when it is
not suppressed: every group below k is (primary suppression), and while the suppressed groups and
the homes whose facts are incomplete hold between 1 and k − 1 homes together, the smallest published
group is suppressed too (secondary suppression), so that no difference of published figures — the
prefix minus its published groups — describes fewer than k homes. (Overlapping groups such as
``pv=1`` and ``heating=heat_pump`` could be subtracted from each other: they are not offered.)
Quantiles are DuckDB's ``quantile_cont`` (linear interpolation, as numpy's default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb

from wire.comparison import ALL, DIMENSIONS, QUANTILES, SCHEMA, group_key

MIN_COVERAGE = 0.9  #: share of a day's slots with grid readings for the day to count [-]
MEASURE = "import_kwh"
_Q = [0.1, 0.25, 0.5, 0.75, 0.9]


class NotReleased(Exception):
    """The comparison cannot be given: ``status`` (404 nothing there, 403 below k) and why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Ask:
    prefix: str  #: a released label, e.g. "108x" or "10xx"
    group: dict[str, Any]  #: wire.comparison.parse_group's answer ({} = every home of the prefix)
    month: date  #: its first day


def month_bounds(month: date) -> tuple[date, date]:
    nxt = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return month, nxt


def own_prefix(con: duckdb.DuckDBPyConnection, household_id: str | None) -> str | None:
    """The released label of a household's prefix (None: not uploaded yet, or withheld)."""
    if household_id is None:
        return None
    row = con.execute(
        "SELECT postcode_prefix FROM households WHERE household_id = ?", [household_id]
    ).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def _in_group(group: dict[str, Any]) -> tuple[str, list[Any]]:
    columns = {"fuse": "main_fuse_a", "heating": "heating", "pv": "pv", "ev": "ev"}
    terms = [f"coalesce(l.{columns[dim]} = ?, false)" for dim in group]
    return (" AND ".join(terms) or "true"), list(group.values())


def _load_month(con: duckdb.DuckDBPyConnection, first: date, end: date, prefix: str) -> None:
    """The prefix's counted days of the month, each with its home's group facts (from the home's
    latest batch of the month), into the temporary table ``_month``: one read of the store."""
    con.execute("DROP TABLE IF EXISTS _month")
    con.execute(
        f"""CREATE TEMP TABLE _month AS
        WITH days AS (
            SELECT household_id, day, main_fuse_a, heating, pv, ev,
                   TRY_CAST(json_extract_string(summary, '$.house.import_kwh') AS DOUBLE) AS kwh,
                   TRY_CAST(json_extract_string(summary, '$.coverage') AS DOUBLE) AS cov
            FROM batches WHERE day >= ? AND day < ? AND postcode_prefix = ?
        ), latest AS (
            SELECT household_id, main_fuse_a, heating, pv, ev FROM days
            QUALIFY row_number() OVER (PARTITION BY household_id ORDER BY day DESC) = 1
        )
        SELECT d.household_id, d.day, d.kwh, l.main_fuse_a, l.heating, l.pv, l.ev
        FROM days d JOIN latest l USING (household_id) JOIN households h USING (household_id)
        WHERE NOT h.simulated AND d.kwh IS NOT NULL AND isfinite(d.kwh) AND d.kwh >= 0
          AND (d.cov IS NULL OR d.cov >= {MIN_COVERAGE})""",
        [first, end, prefix],
    )


def _counted_sql(group: dict[str, Any]) -> tuple[str, list[Any]]:
    in_group, params = _in_group(group)
    return f"WITH counted AS (SELECT household_id, day, kwh, {in_group} AS in_group FROM _month l)", params


def _figures(n: int, mean: float, q: list[float]) -> dict[str, float | int]:
    out: dict[str, float | int] = {"homes": int(n), "mean": round(float(mean), 3)}
    out.update({name: round(float(v), 3) for name, v in zip(QUANTILES, q, strict=True)})
    return out


Cell = tuple[float, str, bool, bool]  #: (main fuse [A], heating, pv, ev): one group of the partition


def published_cells(cells: dict[Cell, int], incomplete: int, k: int) -> set[Cell]:
    """The groups whose figures may be published: primary suppression below k, then secondary
    suppression of the smallest groups until the suppressed homes (with ``incomplete``, the homes in
    no group) are none or at least k."""
    suppressed = {c for c, n in cells.items() if n < k}
    mass = incomplete + sum(cells[c] for c in suppressed)
    candidates = sorted((c for c in cells if c not in suppressed), key=lambda c: (cells[c], str(c)))
    while 0 < mass < k and candidates:
        c = candidates.pop(0)
        suppressed.add(c)
        mass += cells[c]
    return set(cells) - suppressed


def _cell_of(group: dict[str, Any]) -> Cell | None:
    if not group:
        return None
    if set(group) != set(DIMENSIONS):
        raise NotReleased(
            400,
            "group: the full key fuse=..,heating=..,pv=..,ev=.. or all (groups are cells of one "
            "partition, so that no two answers can be subtracted to single out fewer than k homes)",
        )
    return (float(group["fuse"]), str(group["heating"]), bool(group["pv"]), bool(group["ev"]))


def _cells(rows: list[tuple[Any, ...]]) -> tuple[dict[Cell, int], int]:
    """(homes per complete group, homes with an incomplete group) from (fuse, heating, pv, ev, n) rows."""
    cells: dict[Cell, int] = {}
    incomplete = 0
    for fuse, heating, pv, ev, n in rows:
        if fuse is None or heating is None or pv is None or ev is None:
            incomplete += int(n)
        else:
            cells[(float(fuse), str(heating), bool(pv), bool(ev))] = int(n)
    return cells, incomplete


def _releasable(cell: Cell | None, n: int, total: int, rows: list[tuple[Any, ...]], k: int) -> bool:
    if cell is None:
        return total >= k
    cells, incomplete = _cells(rows)
    return n >= k and cell in published_cells(cells, incomplete, k)


def comparison(con: duckdb.DuckDBPyConnection, ask: Ask, k: int) -> dict[str, Any]:
    """The ``hems-comparison/1`` answer for ``ask``, or `NotReleased` saying why there is none."""
    first, end = month_bounds(ask.month)
    label = f"{ask.prefix} {first:%Y-%m}"
    known = con.execute("SELECT count(*) FROM prefixes WHERE postcode_prefix = ?", [ask.prefix]).fetchone()
    if not known or not known[0]:
        raise NotReleased(
            404,
            f"no released prefix {ask.prefix!r}: a prefix shared by fewer than {k} homes is released "
            "only pooled with its neighbours (e.g. 10xx) or not at all",
        )
    cell = _cell_of(ask.group)
    _load_month(con, first, end, ask.prefix)
    head, params = _counted_sql(ask.group)
    daily_rows = con.execute(
        f"""{head}
        SELECT a.day, coalesce(g.n, 0), a.n_all, g.mean, g.q FROM
            (SELECT day, count(*) AS n_all FROM counted GROUP BY day) a
        LEFT JOIN (SELECT day, count(*) AS n, avg(kwh) AS mean, quantile_cont(kwh, {_Q}) AS q
                   FROM counted WHERE in_group GROUP BY day) g USING (day)
        ORDER BY a.day""",
        params,
    ).fetchall()
    if not daily_rows:
        raise NotReleased(404, f"no home in {label} has a counted day (import with its coverage)")
    span = (max(r[0] for r in daily_rows) - first).days + 1
    monthly_row = con.execute(
        f"""{head}, homes AS (
            SELECT household_id, bool_and(in_group) AS in_group, avg(kwh) AS mean_day
            FROM counted GROUP BY household_id HAVING 2 * count(*) >= ?)
        SELECT (SELECT count(*) FROM homes), count(*), avg(mean_day), quantile_cont(mean_day, {_Q})
        FROM homes WHERE in_group""",
        [*params, span],
    ).fetchone()
    assert monthly_row is not None
    total, n, mean, q = monthly_row
    facts = "main_fuse_a, heating, pv, ev"
    month_cells = con.execute(
        f"""SELECT {facts}, count(*) FROM (
            SELECT household_id, any_value(main_fuse_a) AS main_fuse_a, any_value(heating) AS heating,
                   any_value(pv) AS pv, any_value(ev) AS ev
            FROM _month GROUP BY household_id HAVING 2 * count(*) >= ?) GROUP BY ALL""",
        [span],
    ).fetchall()
    day_cells: dict[Any, list[tuple[Any, ...]]] = {}
    for day, *rest in con.execute(f"SELECT day, {facts}, count(*) FROM _month GROUP BY ALL").fetchall():
        day_cells.setdefault(day, []).append(tuple(rest))
    monthly = _figures(n, mean, q) if _releasable(cell, n, total, month_cells, k) else None
    daily = [
        {"day": day.isoformat(), **_figures(n_day, m, qs)}
        for day, n_day, n_all, m, qs in daily_rows
        if _releasable(cell, n_day, n_all, day_cells.get(day, []), k)
    ]
    if monthly is None and not daily:
        what = group_key(ask.group)
        raise NotReleased(
            403,
            f"no comparison for group {what!r} in {label}: fewer than {k} similar homes"
            + ("" if what == ALL else " (or withheld so that the prefix's smaller groups stay hidden)"),
        )
    return {
        "schema": SCHEMA,
        "prefix": ask.prefix,
        "group": group_key(ask.group),
        "month": f"{first:%Y-%m}",
        "k": k,
        "measure": MEASURE,
        "monthly": monthly,
        "daily": daily,
    }
