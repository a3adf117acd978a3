"""A seeded day-ahead price simulator shaped like the Nordic market (NO1–NO5), for the demo and
`hems evaluate`: no network, the same prices for the same seed, published like the real market.

What shapes a day's prices [EUR/MWh, as ENTSO-E publishes them]:

- the zone's level, between its winter and its summer mean by the day of the year (`ZONES`: south
  and west Norway dearer than the hydro-rich, export-bound north);
- a weather regime: a slow random walk of the day's level (a cold, still week is dear; a wet,
  windy one cheap), AR(1) on the logarithm with persistence `PERSISTENCE`;
- the hours: a night trough, a morning peak around 08 and an evening peak around 18 on workdays,
  flatter and lower on Saturdays, Sundays and public holidays; in summer the solar dip at midday;
- on some sunny summer days, mostly weekends, the midday hours go negative (as in NO1/NO2 since 2023);
- a little noise per hour, and per quarter-hour from 2025-10-01, when the day-ahead market moved to
  15-minute products (hourly prices before).

`SimulatedMarket` converts to the household's currency and knows when prices are out: day D's
prices are published at 13:00 Europe/Brussels on D − 1 (`published_through`), so a fetch for a day
not yet published fails like ENTSO-E's "no matching data" (`tariffs.spot.PriceUnavailable`).
The numbers are shaped like the market, not a record of it: use real prices (ENTSO-E) for bills.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from tariffs.series import PriceSeries, day_slots

#: zone → (winter mean, summer mean) day-ahead price [EUR/MWh], typical of 2023–2025
ZONES: dict[str, tuple[float, float]] = {
    "NO1": (80.0, 32.0),
    "NO2": (85.0, 38.0),
    "NO3": (40.0, 18.0),
    "NO4": (24.0, 9.0),
    "NO5": (75.0, 30.0),
}
PERSISTENCE = 0.75  #: day-to-day persistence of the weather regime (AR(1) on the log level)
REGIME_SIGMA = 0.22  #: innovation of the regime's log level per day
FIFTEEN_MINUTE_FROM = date(2025, 10, 1)  #: SDAC's first day of 15-minute day-ahead products
PUBLISHED_AT = time(13, 0)  #: Europe/Brussels, the day before
MARKET_TZ = "Europe/Brussels"
_BURN_IN_DAYS = 40  #: days of innovations in a day's regime (φ^40 ≈ 1e-5: the rest is negligible)

# relative price by local hour (0..23): night trough, morning and evening peaks
_WORKDAY = (0.82, 0.78, 0.76, 0.75, 0.77, 0.86, 1.02, 1.20, 1.26, 1.16, 1.06, 1.00,
            0.97, 0.95, 0.96, 1.00, 1.10, 1.24, 1.30, 1.22, 1.10, 1.00, 0.93, 0.87)  # fmt: skip
_WEEKEND = (0.84, 0.80, 0.77, 0.75, 0.75, 0.77, 0.81, 0.87, 0.94, 0.99, 1.01, 1.00,
            0.97, 0.95, 0.95, 0.98, 1.06, 1.16, 1.20, 1.15, 1.07, 1.00, 0.94, 0.89)  # fmt: skip


class _Clock(Protocol):
    def now(self) -> datetime: ...


def _summerness(day: date) -> float:
    """0 in mid-January, 1 in mid-July."""
    return 0.5 - 0.5 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)


def _quiet_day(day: date) -> bool:
    """Saturday, Sunday or a Norwegian public holiday (lower demand, flatter morning)."""
    from tariffs.bands import is_holiday

    return day.weekday() >= 5 or is_holiday(day, "NO")


@dataclass
class PriceSimulator:
    """Day-ahead prices of one bidding zone for one seed [EUR/MWh]."""

    zone: str = "NO1"
    seed: int = 1
    tz: str = "Europe/Oslo"
    _regime: dict[date, float] = field(default_factory=dict, init=False, repr=False)
    _eps: dict[date, float] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.zone not in ZONES:
            raise ValueError(f"simulated prices exist for {', '.join(ZONES)}, not {self.zone!r}")

    def _rng(self, *parts: object) -> random.Random:
        return random.Random(":".join(str(p) for p in ("prices", self.seed, self.zone, *parts)))

    def regime(self, day: date) -> float:
        """The day's weather regime as a factor on the seasonal level [-] (mean about 1).

        AR(1) on the log level written as its moving sum, x_d = Σ_k φ^k ε_(d−k) over the last
        `_BURN_IN_DAYS` days, so a day's value never depends on which day was asked first."""
        x = self._regime.get(day)
        if x is None:
            x = sum(PERSISTENCE**k * self._innovation(day - timedelta(days=k)) for k in range(_BURN_IN_DAYS))
            self._regime[day] = x
        return math.exp(x)

    def _innovation(self, day: date) -> float:
        eps = self._eps.get(day)
        if eps is None:
            eps = self._eps[day] = self._rng("regime", day).gauss(0.0, REGIME_SIGMA)
        return eps

    def day_eur(self, day: date) -> PriceSeries:
        """Local ``day``'s prices [EUR/kWh]: hourly before 2025-10-01, quarter-hourly from then."""
        minutes = 15 if day >= FIFTEEN_MINUTE_FROM else 60
        slots = day_slots(day, self.tz, minutes)
        winter, summer = ZONES[self.zone]
        s = _summerness(day)
        level = (winter + (summer - winter) * s) * self.regime(day)
        quiet = _quiet_day(day)
        shape = _WEEKEND if quiet else _WORKDAY
        r = self._rng("day", day)
        sunny = r.random() < 0.6
        # summer middays: solar pushes prices down, on some quiet sunny days below zero
        negative = s > 0.75 and sunny and r.random() < (0.45 if quiet else 0.12)
        dip = (0.15 + 0.35 * s) * (1.0 if sunny else 0.5)
        zone = ZoneInfo(self.tz)
        noise = [r.gauss(0.0, 0.04) for _ in range(25)]
        out = []
        for t in slots:
            local = t.astimezone(zone)
            hour = local.hour + local.minute / 60.0
            h = local.hour
            base = shape[h] + (shape[(h + 1) % 24] - shape[h]) * (local.minute / 60.0)
            solar = dip * math.exp(-(((hour - 13.0) / 2.6) ** 2)) * s
            price = level * (base - solar) * (1.0 + noise[min(h, 24)])
            if minutes == 15:
                price *= 1.0 + r.gauss(0.0, 0.015)
            if negative and 10.5 <= hour < 16.0:
                price = min(price, -r.uniform(1.0, 12.0) * (1.0 - abs(hour - 13.2) / 3.5))
            out.append(round(max(-500.0, min(4000.0, price)), 2) / 1000.0)  # SDAC limits [EUR/MWh]
        return PriceSeries(slots[0], minutes, tuple(out), "EUR")


def published_through(now: datetime, tz: str = "Europe/Oslo") -> date:
    """The last local day whose day-ahead prices are public at ``now`` (D is out at 13:00
    Brussels time on D − 1)."""
    brussels = now.astimezone(ZoneInfo(MARKET_TZ))
    today = now.astimezone(ZoneInfo(tz)).date()
    return today + timedelta(days=1) if brussels.time() >= PUBLISHED_AT else today


@dataclass
class SimulatedMarket:
    """Simulated day-ahead prices in the household's currency [currency/kWh], published like the
    real ones. ``rate``: currency per EUR (NOK/kWh = EUR/kWh × rate)."""

    zone: str = "NO1"
    seed: int = 1
    tz: str = "Europe/Oslo"
    currency: str = "NOK"
    rate: float = 11.5
    sim: PriceSimulator = field(init=False)
    _days: dict[date, PriceSeries] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.sim = PriceSimulator(self.zone, self.seed, self.tz)

    def day(self, day: date) -> PriceSeries:
        """Local ``day``'s prices [currency/kWh] (whether published or not: the oracle's view)."""
        got = self._days.get(day)
        if got is None:
            raw = self.sim.day_eur(day)
            values = tuple(v * self.rate for v in raw.price_per_kwh)
            got = self._days[day] = PriceSeries(raw.start, raw.slot_minutes, values, self.currency)
        return got

    def between(self, first: date, last: date) -> PriceSeries:
        """Every price of local days ``first``..``last`` (inclusive) on one 15-minute grid."""
        values: list[float] = []
        start = None
        d = first
        while d <= last:
            s = self.day(d)
            slots = day_slots(d, self.tz, 15)
            values += s.on_slots(slots, 15)
            start = start or slots[0]
            d += timedelta(days=1)
        assert start is not None
        return PriceSeries(start, 15, tuple(values), self.currency)

    def published(self, now: datetime, first: date) -> PriceSeries:
        """What the market has published at ``now``, from local day ``first`` on (15-min grid)."""
        return self.between(first, published_through(now, self.tz))

    def fetcher(self, clock: _Clock) -> Callable[[datetime, datetime], PriceSeries]:
        """A ``fetch(start, end)`` like `tariffs.spot.entsoe_fetcher`'s, answering only with what
        is published at ``clock.now()`` (`PriceUnavailable` otherwise)."""
        from tariffs.spot import PriceUnavailable

        def fetch(start: datetime, end: datetime) -> PriceSeries:
            now = clock.now()
            zone = ZoneInfo(self.tz)
            last = (end - timedelta(seconds=1)).astimezone(zone).date()
            if last > published_through(now, self.tz):
                raise PriceUnavailable(f"simulated {self.zone} prices for {last} are not published yet")
            got = self.between(start.astimezone(zone).date(), last)
            return got.window(start.astimezone(UTC), end.astimezone(UTC))

        return fetch
