"""The box drives the twin's SG Ready heat pump through two simulated Shelly contacts (its real
SG Ready driver): boost in the day's cheapest hours, block in its dearest within the household's
comfort limits, and the heat pump — its tank, its controller — follows the contacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from loop_testing import Loop

OSLO = ZoneInfo("Europe/Oslo")
HEAT_PUMP = {
    "id": "heat-pump",
    "kind": "relay",
    "power_kw": 2.0,
    "driver": "sg-ready",
    "circuit": "bathroom-floor",
    "device": {
        "topic": "shellypro2-heatpump",
        "channel": 0,
        "channel_b": 1,
        "boost_hours": 2,
        "block_hours": 2,
        "max_block_h": 1,
        "min_gap_h": 1,
    },
}


def local(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, 15, hour, minute, tzinfo=OSLO).astimezone(UTC)


def prices(slots: list[datetime], minutes: int) -> tuple[list[float], list[float]]:
    """Cheap 14–16, dear 18–20 (local), in between the same."""

    def price(t: datetime) -> float:
        return 0.5 if local(14) <= t < local(16) else 3.0 if local(18) <= t < local(20) else 1.0

    return [price(t) for t in slots], [0.0] * len(slots)


def expected(t: datetime) -> int:
    """Boost in the 2 cheapest hours; block the dearest, at most 1 h in a row with 1 h between."""
    if local(14) <= t < local(16):
        return 3
    if local(18) <= t < local(19):
        return 1
    return 2


async def test_the_heat_pump_boosts_in_cheap_hours_and_blocks_in_dear_ones(tmp_path: Any) -> None:
    config = {"appliance": [HEAT_PUMP]}
    loop = Loop(tmp_path, local(13, 30), [], prices, config=config)
    try:
        host = loop.control.drivers
        pump = loop.device("heat-pump")
        assert host is not None
        wrong: list[datetime] = []
        while loop.clock.now() < local(20, 30):
            snapshot = await loop.daemon.run_cycle(loop.clock.now())
            if pump.sg_state != expected(snapshot.time):
                wrong.append(snapshot.time)
            if pump.running:  # its compressor on its circuit, beside the floor heating
                assert snapshot.circuits["bathroom-floor"].p_w >= pump.p_el_w
            await loop.control.idle()
            loop.clock.advance(10)
        assert "heat-pump" in host.sg
        # each change of state reaches the heat pump within a cycle (command, relay, contact)
        late = [t for t in wrong if t - timedelta(seconds=10) not in wrong]
        assert len(wrong) == len(late) <= 4, [t.isoformat() for t in wrong]
        # it stored heat while power was cheap, and the hour's block cost no comfort
        assert pump.run_s[3] > 0 and pump.run_s[1] == 0.0
        assert pump.coldest_c >= 35.0
        assert host.faults == {} and host.events == []
    finally:
        await loop.close()
