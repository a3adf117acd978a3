"""The running slot's price, export price and band, as the dashboard and Home Assistant show them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hems.clock import ManualClock
from hems.config import parse_config
from hems.control import build_control
from hems.control.status import current_price, price_band
from hems.snapshot import Snapshot
from hems.storage import Storage


def test_band_by_thirds_of_the_day() -> None:
    day = [1.0] * 8 + [2.0] * 8 + [3.0] * 8
    assert [price_band(p, day) for p in (1.0, 2.0, 3.0)] == ["low", "normal", "high"]
    assert price_band(5.0, [5.0] * 24) == "normal"  # a flat day has no cheap or dear hours
    assert price_band(1.0, []) == "normal"


def test_current_price_on_the_spring_dst_day() -> None:
    asked: list[list[datetime]] = []

    def prices(slots: list[datetime], minutes: int) -> tuple[list[float], list[float]]:
        asked.append(slots)
        return [0.5 + 0.01 * i for i in range(len(slots))], [0.1] * len(slots)

    slot = datetime(2026, 3, 29, 20, 15, tzinfo=UTC)  # 22:15 CEST, late on the 23-hour day
    got = current_price(prices, slot, "Europe/Oslo", 15)
    assert len(asked[0]) == 92
    index = asked[0].index(slot)
    assert got == {"import_per_kwh": 0.5 + 0.01 * index, "export_per_kwh": 0.1, "band": "high"}


async def test_control_offers_the_slot_prices_as_channels(tmp_path: Path) -> None:
    config = parse_config({"site": {"id": "w"}, "tariff": {"grid_company": "Elvia"}})
    clock = ManualClock(datetime(2026, 1, 15, 17, 5, tzinfo=UTC))
    with Storage.open(tmp_path / "hems.db", timezone="Europe/Oslo") as st:
        control = build_control(config, st, clock)
        await control.on_cycle(Snapshot(time=clock.now()))
        price = control.state()["price"]
        assert price["band"] in {"low", "normal", "high"}
        assert control.channel_values() == {
            "price.import_per_kwh": price["import_per_kwh"],
            "price.export_per_kwh": price["export_per_kwh"],
        }
        await control.stop()
