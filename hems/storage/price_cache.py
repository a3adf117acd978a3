"""Spot prices cached in the household database, so a price-source outage never stops planning.

Implements `tariffs.cache.PriceCache` on SQLite. It receives an open ``sqlite3.Connection`` (the
storage's WAL connection) and creates its own table. One row per zone, slot start and resolution;
slot starts are UTC epoch seconds; prices in the household's currency per kWh.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from tariffs.series import PriceSeries

_SCHEMA = """
CREATE TABLE IF NOT EXISTS price_cache (
    zone TEXT NOT NULL,
    slot_start INTEGER NOT NULL,      -- UTC epoch seconds
    slot_minutes INTEGER NOT NULL,    -- 15 or 60
    price_per_kwh REAL NOT NULL,
    currency TEXT NOT NULL,
    PRIMARY KEY (zone, slot_minutes, slot_start)
) WITHOUT ROWID
"""


class SqlitePriceCache:
    """`PriceCache` on a table ``price_cache`` of the given connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        with self._db:
            self._db.execute(_SCHEMA)

    def put(self, zone: str, series: PriceSeries) -> None:
        """Store (replace) every slot of ``series`` [currency/kWh]."""
        rows = [
            (zone, int(t.timestamp()), series.slot_minutes, v, series.currency)
            for t, v in zip(series.slot_starts(), series.price_per_kwh, strict=True)
        ]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO price_cache VALUES (?, ?, ?, ?, ?)", rows)

    def get(self, zone: str, start: datetime, end: datetime) -> PriceSeries | None:
        """Prices covering all of [start, end) at one resolution (finest first), else None."""
        a, b = int(start.timestamp()), int(end.timestamp())
        for minutes in (15, 60):
            rows = self._db.execute(
                "SELECT slot_start, price_per_kwh, currency FROM price_cache"
                " WHERE zone = ? AND slot_minutes = ? AND slot_start >= ? AND slot_start < ?"
                " ORDER BY slot_start",
                (zone, minutes, a, b),
            ).fetchall()
            n = (b - a) // (minutes * 60)
            if n > 0 and len(rows) == n and rows[0][0] == a and len({r[2] for r in rows}) == 1:
                t0 = datetime.fromtimestamp(a, UTC)
                return PriceSeries(t0, minutes, tuple(r[1] for r in rows), rows[0][2])
        return None

    def latest_before(self, zone: str, before: datetime) -> datetime | None:
        """Start of the latest stored slot that begins before ``before``."""
        row = self._db.execute(
            "SELECT MAX(slot_start) FROM price_cache WHERE zone = ? AND slot_start < ?",
            (zone, int(before.timestamp())),
        ).fetchone()
        return None if row is None or row[0] is None else datetime.fromtimestamp(row[0], UTC)

    def prune(self, before: datetime) -> int:
        """Delete prices of slots before ``before`` (retention); returns the rows deleted."""
        with self._db:
            cur = self._db.execute("DELETE FROM price_cache WHERE slot_start < ?", (int(before.timestamp()),))
        return cur.rowcount
