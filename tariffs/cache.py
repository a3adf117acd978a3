"""Where a day's spot prices come from: a source, the cache, or the last known pattern.

`PriceCache` is the small storage interface tariffs/ needs (implemented on SQLite by
``hems/storage/price_cache.py``; tariffs/ itself depends on nothing else in the project).
`spot_for_day` tries, in order: prices already cached for the day, a fetch from the source (stored
in the cache on success), and finally the last cached day before it, laid onto the wanted day hour
by hour ("fallback: last known pattern"). An outage of the price source never stops planning; the
returned `SpotDay.source` always says where the prices came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from tariffs.series import PriceSeries, day_slots, local_day_bounds
from tariffs.spot import PriceError

Fetch = Callable[[datetime, datetime], PriceSeries]  #: (start, end) UTC → prices in the cache's currency


class PriceCache(Protocol):
    """Stored spot prices per bidding zone [currency/kWh]; UTC slot starts."""

    def put(self, zone: str, series: PriceSeries) -> None:
        """Store (or replace) the prices of every slot in ``series``."""
        ...

    def get(self, zone: str, start: datetime, end: datetime) -> PriceSeries | None:
        """The prices covering all of [start, end) at one resolution (finest stored), or None."""
        ...

    def latest_before(self, zone: str, before: datetime) -> datetime | None:
        """Start of the latest stored slot that begins before ``before``, or None."""
        ...


@dataclass(frozen=True, slots=True)
class SpotDay:
    """A local day's spot prices and where they came from."""

    prices: PriceSeries | None  #: None when nothing at all is known
    source: str  #: "cache", "entsoe", "file: X", "fallback: last known pattern (YYYY-MM-DD)", "none: ..."
    problems: tuple[str, ...] = ()  #: what went wrong on the way (source errors), for the log/UI

    @property
    def is_fallback(self) -> bool:
        return not self.source.startswith(("cache", "entsoe", "file"))


def pattern_onto_day(known: PriceSeries, known_day: date, day: date, tz: str) -> PriceSeries:
    """Lay the prices of ``known_day`` onto ``day`` by local clock time (hour, minute).

    A slot of the wanted day takes the known day's price at the same local wall-clock time; on a
    DST change the missing hour is skipped and the repeated hour takes the same price twice.
    """
    zone = ZoneInfo(tz)
    by_clock: dict[tuple[int, int], float] = {}
    for t in day_slots(known_day, tz, known.slot_minutes):
        local = t.astimezone(zone)
        by_clock.setdefault((local.hour, local.minute), known.at(t))
    values = []
    for t in day_slots(day, tz, known.slot_minutes):
        local = t.astimezone(zone)
        key = (local.hour, local.minute)
        if key not in by_clock:  # the known day was a spring-forward day: borrow the hour before
            key = ((local.hour - 1) % 24, local.minute)
        values.append(by_clock[key])
    start, _ = local_day_bounds(day, tz)
    return PriceSeries(start, known.slot_minutes, tuple(values), known.currency)


def spot_for_day(
    day: date,
    tz: str,
    zone: str,
    *,
    cache: PriceCache | None = None,
    fetch: Fetch | None = None,
    lookback_days: int = 14,
) -> SpotDay:
    """The spot prices of local ``day`` in ``zone``: cached, fetched, or the last known pattern."""
    start, end = local_day_bounds(day, tz)
    problems: list[str] = []
    if cache is not None:
        hit = cache.get(zone, start, end)
        if hit is not None:
            return SpotDay(hit, "cache")
    if fetch is not None:
        try:
            got = fetch(start, end)
            if not got.covers(start, end):
                raise PriceError(f"the source covers {got.start:%Y-%m-%d %H:%M}..{got.end:%H:%M} UTC only")
            if cache is not None:
                cache.put(zone, got)
            return SpotDay(got.window(start, end), "entsoe", ())
        except PriceError as exc:
            problems.append(str(exc))
    if cache is not None:
        before = start
        for _ in range(lookback_days):
            latest = cache.latest_before(zone, before)
            if latest is None:
                break
            known_day = latest.astimezone(ZoneInfo(tz)).date()
            ks, ke = local_day_bounds(known_day, tz)
            known = cache.get(zone, ks, ke)
            if known is not None:
                pattern = pattern_onto_day(known, known_day, day, tz)
                source = f"fallback: last known pattern ({known_day.isoformat()})"
                return SpotDay(pattern, source, tuple(problems))
            before = ks  # that day is incomplete: look further back
    why = "no price source or cached prices" if not problems else "price source failed, nothing cached"
    return SpotDay(None, f"none: {why}; spot part left out (0)", tuple(problems))


def spot_for_period(
    start: datetime,
    end: datetime,
    tz: str,
    zone: str,
    *,
    cache: PriceCache | None = None,
    fetch: Fetch | None = None,
    slot_minutes: int = 15,
) -> tuple[PriceSeries | None, list[str]]:
    """Spot prices over [start, end) (e.g. a planning horizon of one or two days), day by day
    with `spot_for_day`, on a ``slot_minutes`` grid from the first local day's start.

    Returns (prices or None, one "YYYY-MM-DD: source" line per day). The series stops before the
    first day nothing is known about; `HouseholdTariff.slot_prices` notes the slots it lacks.
    """
    zone_info = ZoneInfo(tz)
    day = start.astimezone(zone_info).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone_info).date()
    values: list[float] = []
    sources: list[str] = []
    first_start: datetime | None = None
    currency = "NOK"
    known = True
    while day <= last:
        got = spot_for_day(day, tz, zone, cache=cache, fetch=fetch)
        sources.append(f"{day.isoformat()}: {got.source}")
        if got.prices is None:
            known = False
        elif known:
            slots = day_slots(day, tz, slot_minutes)
            first_start = first_start or slots[0]
            values += got.prices.on_slots(slots, slot_minutes)
            currency = got.prices.currency
        day += timedelta(days=1)
    if first_start is None or not values:
        return None, sources
    return PriceSeries(first_start, slot_minutes, tuple(values), currency), sources
