"""The simulated Nordic day-ahead market: seeded, shaped like the zones and seasons, published at 13:00."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hems.clock import ManualClock
from tariffs.pricesim import SimulatedMarket, published_through
from tariffs.spot import PriceUnavailable

OSLO = ZoneInfo("Europe/Oslo")


def mean_of(market: SimulatedMarket, days: list[date]) -> float:
    return statistics.fmean(v for d in days for v in market.day(d).price_per_kwh)


JANUARY = [date(2026, 1, d) for d in range(1, 32)]
JULY = [date(2026, 7, d) for d in range(1, 32)]


def test_same_seed_same_prices_and_another_seed_others() -> None:
    a, b, c = SimulatedMarket("NO1", 5), SimulatedMarket("NO1", 5), SimulatedMarket("NO1", 6)
    day = date(2026, 1, 20)
    assert a.day(day) == b.day(day)
    assert a.day(day) != c.day(day)
    # asking for a later day first gives the same numbers (the regime walk does not depend on order)
    fresh = SimulatedMarket("NO1", 5)
    assert fresh.day(date(2026, 1, 25)) == a.day(date(2026, 1, 25))


def test_zones_and_seasons_are_ordered_like_the_market() -> None:
    no1, no4 = SimulatedMarket("NO1", 2), SimulatedMarket("NO4", 2)
    assert mean_of(no4, JANUARY) < 0.5 * mean_of(no1, JANUARY)
    assert mean_of(no1, JULY) < 0.7 * mean_of(no1, JANUARY)
    assert 0.4 < mean_of(no1, JANUARY) < 2.0  # NOK/kWh at 11.5 NOK/EUR


def test_workday_peaks_and_weekends() -> None:
    m = SimulatedMarket("NO2", 3)
    evening, night, weekend_morning, workday_morning = [], [], [], []
    for day in JANUARY:
        s = m.day(day)
        by_hour = {t.astimezone(OSLO).hour: v for t, v in zip(s.slot_starts(), s.price_per_kwh, strict=True)}
        evening.append(by_hour[18] / by_hour[3])
        (weekend_morning if day.weekday() >= 5 else workday_morning).append(by_hour[8] / by_hour[3])
        night.append(by_hour[3])
    assert statistics.fmean(evening) > 1.3
    assert statistics.fmean(workday_morning) > statistics.fmean(weekend_morning) + 0.15


def test_negative_hours_only_on_summer_middays() -> None:
    m = SimulatedMarket("NO1", 4)
    negative_summer = [
        t.astimezone(OSLO).hour
        for d in JULY
        for t, v in zip(m.day(d).slot_starts(), m.day(d).price_per_kwh, strict=True)
        if v < 0
    ]
    assert negative_summer and all(10 <= h <= 16 for h in negative_summer)
    assert all(v >= 0 for d in JANUARY for v in m.day(d).price_per_kwh)


def test_resolution_follows_the_market_and_dst_days_are_whole() -> None:
    m = SimulatedMarket("NO1", 1)
    assert m.day(date(2025, 9, 30)).slot_minutes == 60
    assert m.day(date(2025, 10, 1)).slot_minutes == 15
    assert len(m.day(date(2026, 3, 29))) == 92  # 23-hour day
    assert len(m.day(date(2024, 10, 27))) == 25  # hourly then, 25-hour day


def test_publication_at_13_brussels_and_the_fetcher_respects_it() -> None:
    assert published_through(datetime(2026, 1, 15, 11, 59, tzinfo=UTC)) == date(2026, 1, 15)
    assert published_through(datetime(2026, 1, 15, 12, 0, tzinfo=UTC)) == date(2026, 1, 16)  # 13:00 CET
    assert published_through(datetime(2026, 7, 15, 11, 0, tzinfo=UTC)) == date(2026, 7, 16)  # 13:00 CEST
    clock = ManualClock(datetime(2026, 1, 15, 11, 0, tzinfo=UTC))
    m = SimulatedMarket("NO3", 9)
    fetch = m.fetcher(clock)
    tomorrow = datetime(2026, 1, 16, tzinfo=OSLO)
    with pytest.raises(PriceUnavailable):
        fetch(tomorrow, tomorrow + timedelta(days=1))
    clock.set(datetime(2026, 1, 15, 12, 5, tzinfo=UTC))
    got = fetch(tomorrow, tomorrow + timedelta(days=1))
    assert got.covers(tomorrow, tomorrow + timedelta(days=1)) and len(got) == 96
    assert got.currency == "NOK"
    assert got.price_per_kwh == m.day(date(2026, 1, 16)).price_per_kwh


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="NO1"):
        SimulatedMarket("SE3", 1)
