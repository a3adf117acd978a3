"""`DriverHost`: the box runs the drivers of the appliances configured with ``driver = "..."``.

Each driven appliance is a `devices.appliances.drivers.base.DrivenDevice` with an
`devices.appliances.agent.ApplianceAgent` speaking for it on the box's own transport (the
in-process bus, or the [mqtt] broker), so planning, schedules, acks and load shedding are the same
as for an appliance that speaks the protocol itself. SG Ready heat pumps are not planned: they
follow the day's prices within their comfort limits (`devices.appliances.drivers.sgready`).

Every cycle (`on_cycle`, from `Control.on_cycle`) the host reads each device back, ticks its agent,
and records what went wrong as events: ``appliance.fault`` (the device does not follow: the agent
says ``offline`` and the box re-plans without it), ``appliance.recovered``, ``appliance.problem``
(a garbage payload, a rejected profile, a refused charger; at most ten a minute each). Nothing
here waits for the network, and no driver's error reaches the cycle.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from devices.appliances.drivers.config import RELAY_DRIVERS

if TYPE_CHECKING:
    from devices.appliances.link import Link, LocalBus
    from hems.config import HemsConfig
    from hems.control.config import ApplianceConfig
    from hems.snapshot import Snapshot

log = logging.getLogger(__name__)


class DriverHost:
    """The drivers of ``config``'s appliances (see the module docstring)."""

    def __init__(
        self,
        config: HemsConfig,
        clock: Any,
        storage: Any | None = None,
        prices: Callable[[list[datetime], int], tuple[list[float], list[float]]] | None = None,
        bus: LocalBus | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.storage = storage
        self.prices = prices
        self.bus = bus
        self.driven: list[ApplianceConfig] = [a for a in config.appliance if a.driver != "hems"]
        self.devices: dict[str, Any] = {}
        self.agents: dict[str, Any] = {}
        self.sg: dict[str, Any] = {}
        self.central: Any = None
        self.faults: dict[str, str] = {}
        self.events: list[tuple[str, str]] = []  #: (kind, message), newest last (tests, the TUI)
        self._grid_w: float | None = None
        self._links: list[Link] = []
        self._started = False
        self._problem_times: dict[str, list[datetime]] = {}

    def __bool__(self) -> bool:
        return bool(self.driven)

    def _link(self, name: str, will: tuple[str, bytes, bool] | None = None) -> Link:
        """A connection to the box's transport: the bus, or the [mqtt] broker."""
        link: Link
        if self.bus is not None:
            link = self.bus.client(name, will=will)
        else:
            from devices.appliances.mqtt_link import MqttLink

            m = self.config.mqtt
            if m is None:
                raise ValueError("drivers need [mqtt] (or the demo's in-process bus)")
            link = MqttLink(m.host, m.port, name, will, username=m.username, password=m.password)
        self._links.append(link)
        return link

    async def start(self) -> None:
        """Connect, start the OCPP server, build the devices and their agents."""
        if self._started or not self.driven:
            return
        self._started = True
        from devices.appliances.link import Fanout

        site = self.config.site.id
        relays: Any = None
        on_relays = [a for a in self.driven if a.driver in RELAY_DRIVERS or a.driver == "sg-ready"]
        if on_relays:
            try:
                relays = Fanout(self._link(f"hems-{site}-drivers"))
            except ValueError as exc:  # no broker to reach the relays on: said, the others go on
                for a in on_relays:
                    self._record("appliance.fault", a.id, f"{a.id}: driver {a.driver!r} not started: {exc}")
        chargers: dict[str, Any] = {}
        for a in self.driven:
            if relays is None and a in on_relays:
                continue
            try:
                self._build(a, relays, chargers)
            except Exception as exc:  # one appliance's trouble must not stop the others
                self._record("appliance.fault", a.id, f"{a.id}: driver {a.driver!r} not started: {exc}")
        if chargers:
            await self._start_ocpp(chargers)

    def _build(self, a: ApplianceConfig, relays: Any, chargers: dict[str, Any]) -> None:
        from devices.appliances.agent import ApplianceAgent
        from devices.appliances.drivers.base import DailyNeed, DrivenDevice
        from devices.appliances.drivers.relays import RELAYS
        from hems.mqtt import topics

        o, now, tz = a.device, self.clock.now(), self.config.site.timezone
        max_w = (a.power_kw or 0.0) * 1000.0
        device: Any
        if a.driver == "sg-ready":
            from devices.appliances.drivers.sgready import Comfort, SgReady

            cls = RELAYS["shelly"] if o.topic and o.topic.startswith("shelly") else RELAYS["tasmota"]
            assert o.topic is not None
            comfort = Comfort.of(o)
            contacts = (
                cls(f"{a.id}-a", relays.view(), o.topic, o.channel, 1.0),
                cls(f"{a.id}-b", relays.view(), o.topic_b or o.topic, o.channel_b, 1.0),
            )
            self.sg[a.id] = SgReady(a.id, *contacts, comfort, confirm_s=o.confirm_s)
            return
        if a.driver in RELAY_DRIVERS:
            assert o.topic is not None
            actuator: Any = RELAYS[a.driver](a.id, relays.view(), o.topic, o.channel, max_w)
            window = o.window_minutes()
            needs: Any = None
            if window is not None and o.energy_kwh is not None:
                needs = DailyNeed(a.id, o.energy_kwh, window, tz, max_w)
            device = DrivenDevice(a.id, "energy", actuator, needs, now, confirm_s=o.confirm_s)
        elif a.driver == "ocpp":
            from devices.appliances.drivers.base import DrivenDevice as _D
            from devices.appliances.drivers.ocpp_charger import OcppCharger, OcppSession

            charger = OcppCharger(
                a.id,
                o.charge_point or a.id,
                max_w,
                phases=o.phases,
                unit=o.unit,
                voltage_v=self.config.site.voltage_v,
            )
            chargers[charger.cp_id] = (charger, o.password)
            minutes = int(o.ready_by[:2]) * 60 + int(o.ready_by[3:])
            session = OcppSession(charger, o.energy_kwh or 20.0, minutes, tz, a.min_kw * 1000.0, o.car_kwh)
            device = _D(a.id, "energy", charger, session, now, relay=False, confirm_s=max(o.confirm_s, 30.0))
        else:  # sunspec
            from devices.appliances.drivers.sunspec import SunSpecBattery

            assert o.host is not None
            inverter = SunSpecBattery(a.id, o.host, o.port, o.unit_id, a.capacity_kwh or 0.0, max_w)
            device = DrivenDevice(
                a.id,
                "battery",
                inverter,
                None,
                now,
                relay=False,
                grid_w=lambda: self._grid_w,
                confirm_s=o.confirm_s,
            )
        device.on_problem = lambda text, aid=a.id: self._problem(aid, text)
        will = (topics.appliance(self.config.site.id, a.id, "state"), b"offline", True)
        link = self._link(f"hems-{self.config.site.id}-driver-{a.id}", will)
        self.devices[a.id] = device
        self.agents[a.id] = ApplianceAgent(device, link, self.config.site.id)

    async def _start_ocpp(self, chargers: dict[str, Any]) -> None:
        from devices.appliances.drivers.ocpp_central import CentralSystem

        oc = self.config.ocpp
        host, port = (oc.host, oc.port) if oc is not None else ("0.0.0.0", 8887)
        tls = None
        if oc is not None and oc.certfile:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(oc.certfile, oc.keyfile)
        self.central = CentralSystem(host, port, chargers, self.clock, tls)
        try:
            await self.central.start()
        except OSError as exc:
            self._record("appliance.fault", "ocpp", f"OCPP server on {host}:{port} not started: {exc}")
            self.central = None

    def pending(self) -> bool:
        """Whether messages wait on the in-process bus for the drivers, or a charger said something
        the box has not read yet (a fast-forwarding simulation cycles the box again at the same
        instant; a broker's messages come in their own time)."""
        if any(getattr(link, "inbox", None) for link in self._links):
            return True
        for device in self.devices.values():
            heard = getattr(device.actuator, "heard", None)
            if heard is not None and (device.reading is None or device.reading.at != heard):
                return True
        return False

    def on_cycle(self, snapshot: Snapshot) -> None:
        """Read back, drive, report (see the module docstring)."""
        now = snapshot.time
        g = snapshot.grid
        if g is not None and g.p_import_w is not None:
            self._grid_w = g.p_import_w - (g.p_export_w or 0.0)
        if self.central is not None:
            for why in self.central.refused:
                self._problem("ocpp", why)
            self.central.refused.clear()
        for aid, device in self.devices.items():
            try:
                device.poll(now)
                agent = self.agents[aid]
                agent.tick(now)
                if device.kind == "energy":  # a charger holds the whole schedule it follows
                    plan = agent.plan
                    device.ahead(
                        plan if plan is not None and plan.seq == agent.seq and not agent.own else None
                    )
            except Exception as exc:  # a driver's bug is reported, the cycle goes on
                log.exception("driver of %s failed", aid)
                self._problem(aid, f"{aid}: driver error {type(exc).__name__}: {exc}")
            self._fault(aid, device.fault, now)
        for aid, sg in self.sg.items():
            try:
                self._drive_sg(sg, now)
            except Exception as exc:
                self._problem(aid, f"{aid}: SG Ready error {type(exc).__name__}: {exc}")
            self._fault(aid, sg.fault, now)

    def _drive_sg(self, sg: Any, now: datetime) -> None:
        from devices.appliances.drivers.sgready import choose_state

        sg.poll(now)
        for text in sg.problems():
            self._problem(sg.id, text)
        state = 2
        if self.prices is not None:
            tz = ZoneInfo(self.config.site.timezone)
            local = now.astimezone(tz)
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
            from datetime import UTC, timedelta

            day = [(midnight + timedelta(minutes=15 * i)).astimezone(UTC) for i in range(96)]
            day = [t for t in day if t.astimezone(tz).date() == local.date()]
            imports, _ = self.prices(day, 15)
            slot = min(int((now - day[0]).total_seconds() // 900), len(day) - 1)
            state = choose_state(
                list(imports), slot, 15, sg.comfort, sg.blocked_since, sg.last_block_end, now
            )
        if state != sg.state or sg.born == now:
            sg.set_state(now, state)

    def _fault(self, aid: str, fault: str | None, now: datetime) -> None:
        was = self.faults.get(aid)
        if fault and not was:
            self.faults[aid] = fault
            self._record("appliance.fault", aid, f"{aid}: {fault}; planned without it", now)
        elif not fault and was:
            del self.faults[aid]
            self._record("appliance.recovered", aid, f"{aid}: follows its commands again", now)

    def _problem(self, aid: str, text: str) -> None:
        now = self.clock.now()
        recent = [t for t in self._problem_times.get(aid, []) if (now - t).total_seconds() < 60]
        if len(recent) >= 10:
            return  # a flood: counted out, not logged
        self._problem_times[aid] = [*recent, now]
        self._record("appliance.problem", aid, text, now)

    def _record(self, kind: str, aid: str, message: str, now: datetime | None = None) -> None:
        level = "info" if kind == "appliance.recovered" else "warning"
        log.log(logging.INFO if level == "info" else logging.WARNING, "%s", message)
        self.events.append((kind, message))
        del self.events[:-200]
        if self.storage is not None:
            try:
                self.storage.log_event(now or self.clock.now(), kind, level, message, {"appliance": aid})
            except Exception:
                log.exception("could not record %s", kind)

    async def stop(self) -> None:
        if self.central is not None:
            await self.central.stop()
        for device in self.devices.values():
            device.actuator.close()
        for link in self._links:
            link.close()
        self._links = []
