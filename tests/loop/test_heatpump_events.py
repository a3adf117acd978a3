"""The simulated SG Ready heat pump names the instants its controller switches the compressor, so
`hems evaluate` can step from event to event and still see every start and stop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devices.simulated.heatpump import SimHeatPump

T0 = datetime(2026, 1, 15, tzinfo=UTC)


def _cold(t: datetime) -> float:
    return -8.0 + 4.0 * ((t - T0).total_seconds() % 86400) / 86400  # -8 .. -4 °C over the day


def test_stepping_only_at_its_events_gives_the_minute_by_minute_run() -> None:
    fine, coarse = SimHeatPump("hp", "c", "L1", _cold), SimHeatPump("hp", "c", "L1", _cold)
    end = T0 + timedelta(hours=12)
    minute_flips = []
    t = T0
    was = fine.power_w(t) > 0
    while t < end:
        t += timedelta(minutes=1)
        now = fine.power_w(t) > 0
        if now != was:
            minute_flips.append(t)
        was = now
    event_flips = []
    t = T0
    was = coarse.power_w(t) > 0
    boundaries = [T0 + timedelta(minutes=15 * k) for k in range(1, 49)]
    while t < end:
        nxt = coarse.next_change(t)
        t = min([b for b in boundaries if b > t] + ([nxt] if nxt is not None else []))
        now = coarse.power_w(t) > 0
        if now != was:
            event_flips.append(t)
        was = now
    assert len(minute_flips) >= 6  # it cycles several times in a cold half day
    assert event_flips == minute_flips
    assert abs(coarse.tank_c - fine.tank_c) < 1e-9


def test_a_boost_moves_its_next_start() -> None:
    pump = SimHeatPump("hp", "c", "L1", _cold, tank_c=49.0)
    assert pump.power_w(T0) == 0.0  # normal: starts below 45 °C
    normal = pump.next_change(T0)
    pump.set_contact(T0, "b", True)  # boost: starts below 50 °C, so at once
    assert pump.power_w(T0) > 0
    boosted = pump.next_change(T0)
    assert normal is not None and boosted is not None and boosted != normal
    assert pump.sg_state == 3
