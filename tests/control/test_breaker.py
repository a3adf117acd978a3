"""The breaker model against the conventional points of IEC 60898-1 (domain.md §C.1)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from hems.alerts.breaker import CURVES, ThermalBreaker, instant_region, thermal_seconds
from hems.clock import ManualClock


def run(breaker: ThermalBreaker, ratio: float, seconds: float, clock: ManualClock, step_s: float = 10.0):
    """Hold ``ratio`` × In for ``seconds`` in leaps of ``step_s``; return seconds until trip or None."""
    start = clock.now()
    while (clock.now() - start).total_seconds() < seconds:
        clock.advance(step_s)
        breaker.update(ratio * breaker.rating_a, step_s)
        if breaker.tripped:
            return (clock.now() - start).total_seconds()
    return None


@pytest.mark.parametrize("curve", ["B", "C", "D"])
@pytest.mark.parametrize("rating", [6.0, 16.0, 32.0, 63.0])
def test_conventional_non_tripping_then_tripping_current(curve: str, rating: float) -> None:
    clock = ManualClock(datetime(2026, 1, 15, 12, tzinfo=UTC))
    breaker = ThermalBreaker(rating, curve)
    assert run(breaker, 1.13, 3600, clock) is None  # test a: cold, 1.13 In, no trip within 1 h
    t = run(breaker, 1.45, 3600, clock)  # test b: right after, 1.45 In, trip within 1 h
    assert t is not None and t < 3600


@pytest.mark.parametrize("curve", ["B", "C", "D"])
def test_2_55_in_trips_between_1_and_60_seconds_from_cold(curve: str) -> None:
    clock = ManualClock(datetime(2026, 1, 15, 12, tzinfo=UTC))
    t = run(ThermalBreaker(16, curve), 2.55, 120, clock, step_s=0.5)
    assert t is not None and 1.0 < t < 60.0


def test_prediction_matches_the_simulated_trip() -> None:
    clock = ManualClock(datetime(2026, 1, 15, 12, tzinfo=UTC))
    breaker = ThermalBreaker(16, "C")
    breaker.update(1.6 * 16, 0.0)
    predicted = breaker.seconds_to_trip()
    assert 60 < predicted < 3600
    t = run(breaker, 1.6, 3600, clock, step_s=1.0)
    assert t == pytest.approx(predicted, abs=1.0)


def test_cooling_gives_margin_back() -> None:
    breaker = ThermalBreaker(16, "B")
    breaker.update(1.5 * 16, 120.0)
    hot = breaker.seconds_to_trip(1.5)
    breaker.update(0.0, 600.0)  # four time constants at no load
    assert breaker.seconds_to_trip(1.5) > 3 * hot
    assert thermal_seconds(1.5, 0.0, CURVES["B"]) == pytest.approx(breaker.seconds_to_trip(1.5), rel=0.05)


def test_no_thermal_trip_at_or_below_rating() -> None:
    breaker = ThermalBreaker(10, "C")
    breaker.update(10.0, 10 * 3600)
    assert math.isinf(breaker.seconds_to_trip())
    assert not breaker.tripped


@pytest.mark.parametrize(("curve", "no_trip", "trip"), [("B", 3.0, 5.0), ("C", 5.0, 10.0), ("D", 10.0, 20.0)])
def test_magnetic_region(curve: str, no_trip: float, trip: float) -> None:
    c = CURVES[curve]
    assert instant_region(no_trip, c) == "no"  # test d: no trip within 0.1 s
    assert instant_region((no_trip + trip) / 2, c) == "possible"
    assert instant_region(trip, c) == "certain"  # test e: trip within 0.1 s
    assert instant_region(0.99 * no_trip, c) == "no"


def test_gg_fuse_holds_1_25_and_blows_at_1_6_within_an_hour() -> None:
    clock = ManualClock(datetime(2026, 1, 15, 12, tzinfo=UTC))
    fuse = ThermalBreaker(25, "gG")
    assert run(fuse, 1.25, 3600, clock) is None
    assert run(ThermalBreaker(25, "gG"), 1.6, 3600, clock) is not None
    assert instant_region(50.0, CURVES["gG"]) == "no"


def test_bad_rating_or_curve_is_refused() -> None:
    with pytest.raises(ValueError, match="rating"):
        ThermalBreaker(0, "C")
    with pytest.raises(ValueError, match="curve"):
        ThermalBreaker(16, "Z")
