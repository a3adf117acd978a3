"""One strategy over the period: appliances, box and house stepped from event to event.

At each instant ``t`` the box first sees what the meters saw since the last instant (the hems box:
the real `hems.control.Control`, its alert rules, planning, jobs and load shedding, exactly as the
daemon cycles it; the others: their `StrategyBox` and the same alert rules), then the appliance
agents hear the box and set their devices; messages go back and forth until nothing is left to say.
The next instant is the nearest of: the next slot boundary (the bill is per slot), the next thing an
agent or device will do by itself (a program's next phase, a full car, a schedule's next slot, a
fallback deadline, a need), or — while a line is above 90 % of the main fuse or an alert or load
shedding is in force — the next 10-s cycle, so the fuse's thermal image and the box's answer play
out at the daemon's own resolution. Time never jumps over anything that matters, and nowhere else
are 10-s cycles replayed.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from devices.appliances.agent import ApplianceAgent
from devices.appliances.link import LocalBus
from hems.clock import ManualClock
from hems.evaluate.boxes import SgReadyRule, StrategyBox, oracle_decider, rule_decider
from hems.evaluate.peers import ChargePointPeer, Settler
from hems.evaluate.physics import FastTwin, Interval, next_boundary, next_step, snapshot_parts
from hems.evaluate.world import SLOT_S, World, warmup_slots
from hems.mqtt import topics
from hems.snapshot import Snapshot
from hems.storage import SampleWriter, Storage, WriterSettings
from hems.twin import battery_of
from hems.twin_peers import driven_peer

HOT_SHARE = 0.9  #: a line above this share of the main fuse is watched every 10 s


@dataclass
class Outcome:
    """What one strategy did over the period (the raw material of `hems.evaluate.metrics`)."""

    name: str
    twin: FastTwin
    alerts: list[tuple[datetime, str, str]] = field(default_factory=list)  #: (time, key, level)
    steps: int = 0
    fine_steps: int = 0
    plans: int = 0
    db: Path | None = None
    agents: list[ApplianceAgent] = field(default_factory=list)


def in_process_planner(scenario: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """The optimiser in this process (the daemon uses a worker process; the result is the same)."""
    from optimiser.plan import plan_scenario

    return plan_scenario(scenario, time_limit=min(timeout_s, 30.0), source="<hems box>")


class Runner:
    """Steps one strategy (see the module docstring)."""

    def __init__(self, world: World, name: str, db: Path | None, oracle: dict[str, Any] | None = None):
        self.world, self.name = world, name
        cfg = world.cfg
        self.site = cfg.site.id
        self.clock = ManualClock(world.start)
        self.twin = FastTwin(world, battery_of(cfg))
        self.bus = LocalBus() if name != "none" else None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if db is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="hems-evaluate-")
            db = Path(self._tmp.name) / f"{name}.db"
        elif db.exists():
            db.unlink()
        self.db = db
        self.storage = Storage.open(db, timezone=cfg.site.timezone)
        self.storage.mark_simulated(f"hems evaluate: strategy {name}, seed {world.seed}")
        self.writer = SampleWriter(self.storage, WriterSettings(batch_cycles=96, batch_seconds=1e9))
        configured = {a.id for a in cfg.appliance}
        # the hems box drives these with its real drivers; the other strategies speak the protocol
        driven = {a.id: a for a in cfg.appliance if a.driver != "hems"} if name == "hems" else {}
        self.agents = []
        self.peers: list[Any] = []  #: twin appliances behind a simulated relay or charge point
        self.settler: Settler | None = None  #: with a charge point or an inverter: waits for their exchanges
        self.inverter: Any = None  #: the battery's appliance when the box drives it over SunSpec
        self._inverter_known = False  #: the box's connection to it is in the settler's baseline
        for device in self.twin.devices:
            a = driven.get(device.id)
            if a is not None and a.driver == "ocpp":
                assert cfg.ocpp is not None
                self.peers.append(ChargePointPeer(device, a, cfg.ocpp.port, self.clock.now))
                self.settler = Settler()
            elif a is not None and a.driver == "sunspec":
                self.inverter = a  # served once the loop runs (`_connect`)
                self.settler = self.settler or Settler()
            elif a is not None:
                assert self.bus is not None
                self.peers.append(driven_peer(device, a, cfg, self.bus, None, self.clock.now))
            if a is not None or device in self.twin.heat_pumps:
                continue  # a heat pump speaks no protocol: its own controller, or rule's contacts
            link = None
            if self.bus is not None and (name != "hems" or device.id in configured):
                will = (topics.appliance(self.site, device.id, "state"), b"offline", True)
                link = self.bus.client(f"twin-{device.id}", will=will)
            self.agents.append(ApplianceAgent(device, link, self.site))
        self.control: Any = None
        self.box: StrategyBox | None = None
        self.sg_rule: SgReadyRule | None = None  #: rule: its SG Ready automation
        self.engine: Any = None
        if name == "hems":
            self._hems_box()
        else:
            from hems.control import build_alert_engine

            self.engine = build_alert_engine(cfg, day=world.days[0])
            if name == "rule":
                assert self.bus is not None
                self.box = StrategyBox(self.bus, self.site, rule_decider(world))
                if self.twin.heat_pumps:
                    self.sg_rule = SgReadyRule(world, self.twin.heat_pumps)
            elif name == "oracle":
                assert self.bus is not None and oracle is not None
                self.box = StrategyBox(self.bus, self.site, oracle_decider(world, oracle))
                if "battery" in oracle and self.twin.battery is not None:
                    self.box.send(self.twin.battery.id, -1, oracle["battery"], world.start)
        self.outcome = Outcome(name, self.twin, db=db if self._tmp is None else None, agents=self.agents)
        self._slot_acc: dict[str, float] = {}
        self._slot_secs = 0.0

    def _hems_box(self) -> None:
        from hems.control import build_control
        from hems.twin import publish_prices, simulated_jobs

        world, cfg = self.world, self.world.cfg
        for t, sample in warmup_slots(world):  # the day before: the history a running box has
            self.writer.add(t, sample)
        self.writer.flush()
        publish_prices(self.storage, world.market, world.zone, world.start)
        forecast = _forecaster(world, self.storage, self.clock)
        first = world.days[0]
        for day in (first, first + timedelta(days=1)):  # what the weather service said before the start
            _store_forecast(world, self.storage, self.clock, day)
        parts = simulated_jobs(cfg, self.storage, self.clock, world.market, forecast)
        parts["report"] = None
        self.control = build_control(
            cfg, self.storage, self.clock, planner=in_process_planner, bus=self.bus, job_parts=parts
        )

    # --- the box's turn -----------------------------------------------------------------------------
    async def _box(self, snapshot: Snapshot | None, t: datetime) -> None:
        if self.control is not None:
            if snapshot is not None:
                await self.control.on_cycle(snapshot)
                await self.control.idle()
                if self.inverter is not None and not self._inverter_known:
                    assert self.settler is not None  # the driver's first poll opened its connection
                    await self.settler.mark_when_quiet()
                    self._inverter_known = True
            return
        if snapshot is not None:
            for a in self.engine.evaluate(snapshot):
                self.outcome.alerts.append((a.time, a.key, a.level))
        if self.sg_rule is not None:
            self.sg_rule.apply(t)
        if self.box is not None:
            self.box.handle(t)

    async def _connect(self) -> None:
        """Serve the simulated inverter's Modbus TCP, connect the simulated charge points to the box's
        OCPP server (listening by now)."""
        if self.inverter is not None:
            assert self.twin.battery is not None
            peer = driven_peer(self.twin.battery, self.inverter, self.world.cfg, None, None, self.clock.now)
            self.peers.append(peer)
            await _listening(self.inverter.device.port)
        for peer in self.peers:
            if isinstance(peer, ChargePointPeer):
                await peer.start()
        if self.settler is not None:
            await self.settler.mark_when_quiet()  # the boot and the box's first answers to it
            await self._settle()

    async def _tick_peers(self, t: datetime, again: bool = False) -> None:
        """Relays handle what came and report when due; a charge point meters (``again``: only the
        relays, for what the box just said — a charger's answers come over its websocket)."""
        for peer in self.peers:
            if not (again and isinstance(peer, ChargePointPeer)):
                peer.tick(t)
        if not again:
            await self._settle()

    async def _settle(self) -> None:
        if self.settler is not None:
            await self.settler.settle()

    def _box_has_mail(self) -> bool:
        if self.control is not None:
            bridge, drivers = self.control.bridge, self.control.drivers
            return (bridge is not None and bridge.pending()) or bool(drivers and drivers.pending())
        return self.box is not None and self.box.pending()

    def _hot(self) -> bool:
        engine = self.control.engine if self.control is not None else self.engine
        if any(c.kind in ("breaker", "capacity") for c in engine.active.values()):
            return True
        return self.control is not None and bool(self.control.shedder.shed)

    async def run(self) -> Outcome:
        world = self.world
        t = world.start
        snapshot: Snapshot | None = None
        if self.control is not None:
            await self.control.start()
        await self._connect()
        while t < world.end:
            self.clock.set(t)
            await self._tick_peers(t)  # a relay or charger reports as time passes, before the box reads
            await self._box(snapshot, t)
            for _ in range(8):  # requests, schedules, commands, acks: until nothing is left to say
                await self._settle()
                for agent in self.agents:
                    agent.tick(t)
                await self._tick_peers(t, again=True)
                if not self._box_has_mail():
                    break
                if self.control is not None:  # the same cycle again, for what just arrived
                    await self.control.on_cycle(snapshot or Snapshot(time=t))
                    await self.control.idle()
                elif self.box is not None:
                    self.box.handle(t)
            powers = self.twin.device_powers(t)
            t1 = self._next(t, powers)
            iv = self.twin.integrate(t, t1, powers)
            self._record(iv, powers)
            snapshot = self._snapshot(iv)
            self.outcome.steps += 1
            if (t1 - t).total_seconds() <= 10:
                self.outcome.fine_steps += 1
            t = t1
        self.clock.set(t)
        await self._tick_peers(t)
        await self._box(snapshot, t)
        await self._settle()
        return await self._finish()

    def _next(self, t: datetime, powers: dict[str, float]) -> datetime:
        candidates = [next_boundary(t), self.world.end]
        drivers = self.control.drivers if self.control is not None else None
        for agent in [*self.agents, *self.peers, *(drivers.agents.values() if drivers else ())]:
            e = agent.next_event(t)
            if e is not None:
                candidates.append(e)
        candidates += [e for pump in self.twin.heat_pumps if (e := pump.next_change(t)) is not None]
        t1 = min(c for c in candidates if c > t)
        fine = next_step(t)
        if self.inverter is not None:  # the box closes the battery's loop through the meter every cycle
            return min(t1, fine)
        if t1 > fine and (self._hot() or self.twin.peak_a(t, t1, powers) > HOT_SHARE * self.twin.fuse_a):
            t1 = fine
        return t1

    def _snapshot(self, iv: Interval) -> Snapshot:
        parts = snapshot_parts(iv, self.world.cfg.site.voltage_v, self.world.circuits)
        states = self.control.appliance_states() if self.control is not None else {}
        return Snapshot(
            time=iv.end,
            grid=parts["grid"],
            circuits=MappingProxyType(parts["circuits"]),
            pv=parts["pv"],
            appliances=MappingProxyType(states),
        )

    # --- the database -------------------------------------------------------------------------------
    def _record(self, iv: Interval, powers: dict[str, float]) -> None:
        """Accumulate the slot's means; at the slot's end write them as one sample (its 15-min mean)."""
        secs = (iv.end - iv.start).total_seconds()
        values = {
            "grid.p_import_w": iv.import_w,
            "grid.p_export_w": iv.export_w,
            "pv.p_w": iv.pv_w,
            **{f"grid.i_{ln.lower()}_a": a for ln, a in iv.line_a.items()},
            **{f"circuit.{c}.p_w": p for c, p in iv.circuit_w.items()},
            **{f"appliance.{d}.p_w": p for d, p in powers.items()},
        }
        if self.twin.battery is not None:
            values[f"appliance.{self.twin.battery.id}.p_w"] = self.twin.battery_w
            values["battery.p_w"] = self.twin.battery_w
        for k, v in values.items():
            self._slot_acc[k] = self._slot_acc.get(k, 0.0) + v * secs
        self._slot_secs += secs
        if iv.end.timestamp() % SLOT_S == 0:
            start = iv.end - timedelta(seconds=SLOT_S)
            sample = {k: v / self._slot_secs for k, v in self._slot_acc.items()}
            sample.update(self._prices(start))
            self.writer.add(start, sample)
            self.writer.flush()  # the box reads the last hour's and yesterday's load from here
            self._slot_acc, self._slot_secs = {}, 0.0

    def _prices(self, slot: datetime) -> dict[str, float]:
        i = int((slot - self.world.start).total_seconds() // SLOT_S)
        if not hasattr(self, "_price_table"):
            p = self.world.tariff.slot_prices(self.world.slots, 15, self.world.spot())
            self._price_table = (p.import_per_kwh, p.export_per_kwh)
        imp, exp = self._price_table
        return {"price.import_per_kwh": imp[i], "price.export_per_kwh": exp[i]}

    async def _finish(self) -> Outcome:
        for peer in self.peers:
            peer.disconnect(clean=True)
        for device in self.twin.devices:  # settle what ended with the period (windows close by then)
            device.need(self.world.end)
        if self.control is not None:
            await self.control.stop()
            self.outcome.plans = self.control.plans_made
            for e in self.storage.events(self.world.start, self.world.end + timedelta(days=1)):
                if e.kind.startswith("alert.") and "key" in e.data:
                    self.outcome.alerts.append((e.time, str(e.data["key"]), e.level))
        self.writer.close()
        self.storage.close()
        if self._tmp is not None:
            self._tmp.cleanup()
        return self.outcome


async def _listening(port: int) -> None:
    """Wait until the simulated inverter's Modbus TCP server accepts connections."""
    loop = asyncio.get_running_loop()
    until = loop.time() + 10.0
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > until:
                raise TimeoutError(f"the simulated SunSpec inverter did not listen on port {port}") from None
            await asyncio.sleep(0.01)
            continue
        writer.close()
        await writer.wait_closed()
        return


def _store_forecast(world: World, storage: Storage, clock: ManualClock, day: Any) -> None:
    """The simulated weather service's PV forecast for ``day``, as the forecast job stores it."""
    from hems.twin import pv_forecast_doc

    key = f"forecast.pv.{day.isoformat()}"
    if day in world.clear_w and storage.get_doc(key) is None:
        doc = pv_forecast_doc(world.behaviour, world.cfg.site.timezone, day, world.clear_w[day])
        storage.put_doc(key, doc, clock.now())


def _forecaster(world: World, storage: Storage, clock: ManualClock) -> Any:
    async def forecast(day: Any) -> None:
        _store_forecast(world, storage, clock, day)

    return forecast


async def run_strategy(world: World, name: str, db: Path | None, oracle: dict[str, Any] | None) -> Outcome:
    return await Runner(world, name, db, oracle).run()
