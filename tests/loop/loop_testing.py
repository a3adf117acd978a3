"""The loop's test bench: the box (the real `Control`, the real optimiser, a real SQLite file) and the
twin with its appliance agents, on an in-process bus or a real mosquitto, cycled by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from devices.appliances.device import Need
from devices.appliances.link import LocalBus
from devices.simulated import SimCircuitMeter, SimGridMeter, Twin
from devices.simulated.behaviour import Behaviour
from hems.clock import ManualClock
from hems.config import HemsConfig, parse_config
from hems.control import Control, build_control
from hems.daemon import Daemon, Devices
from hems.storage import Storage
from hems.twin import connect_appliances, heat_pumps, twin_config

SITE = "loop-home"


def real_planner(scenario: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    from optimiser.plan import plan_scenario

    return plan_scenario(scenario, time_limit=timeout_s)


class Scripted(Behaviour):
    """A household that asks for exactly the needs a test gives (the weather and meals stay seeded)."""

    def __init__(self, needs: list[Need], seed: int = 1) -> None:
        super().__init__(seed)
        self.scripted = needs

    def needs(self, day: date) -> list[Need]:
        return [n for n in self.scripted if self.day_of(n.at) == day]


def two_prices(cheap_from: datetime, cheap_until: datetime, dear: float = 2.0, cheap: float = 0.5) -> Any:
    def prices(slots: list[datetime], minutes: int) -> tuple[list[float], list[float]]:
        return [cheap if cheap_from <= t < cheap_until else dear for t in slots], [0.0] * len(slots)

    return prices


class Loop:
    """Box and twin, one 10-s cycle at a time, the box caught up (``idle``) after each cycle."""

    def __init__(
        self,
        tmp_path: Path,
        start: datetime,
        needs: list[Need],
        prices: Any,
        mqtt_port: int | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        doc: dict[str, Any] = {"site": {"id": SITE, "main_fuse_a": 63}, **(config or {})}
        if mqtt_port is not None:
            doc["mqtt"] = {"host": "127.0.0.1", "port": mqtt_port, "resend_s": 30}
        cfg: HemsConfig
        cfg, _ = twin_config(parse_config(doc))
        self.cfg = cfg
        self.clock = ManualClock(start)
        self.storage = Storage.open(tmp_path / "loop.db", timezone="Europe/Oslo")
        self.twin = Twin(
            self.clock, seed=1, pv_kwp=0.0, behaviour=Scripted(needs), heat_pumps=heat_pumps(cfg)
        )
        self.bus = None if mqtt_port is not None else LocalBus()
        broker = ("127.0.0.1", mqtt_port) if mqtt_port is not None else None
        connect_appliances(self.twin, cfg, bus=self.bus, mqtt=broker)
        self.control: Control = build_control(
            cfg, self.storage, self.clock, planner=real_planner, prices=prices, jobs=False, bus=self.bus
        )
        self.daemon = Daemon(
            Devices(
                grid=SimGridMeter(self.twin),
                circuits=[SimCircuitMeter(self.twin, c) for c in self.twin.circuits],
            ),
            self.clock,
            hooks=[self.control],
        )

    def agent(self, aid: str) -> Any:
        return self.twin.agents[aid]

    def device(self, aid: str) -> Any:
        return next(d for d in self.twin.appliances if d.id == aid)

    async def run_until(self, end: datetime, pause: Any = None) -> None:
        """Cycles until ``end``; ``pause()`` after each cycle (an MQTT test lets messages arrive)."""
        while self.clock.now() < end:
            await self.daemon.run_cycle(self.clock.now())
            await self.control.idle()
            if pause is not None:
                await pause()
            self.clock.advance(10)

    async def close(self) -> None:
        await self.control.stop()
        for agent in self.twin.agents.values():
            agent.disconnect(clean=True)
        self.twin.close()
        self.storage.close()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


__all__ = ["SITE", "Loop", "Scripted", "at", "timedelta", "two_prices"]
