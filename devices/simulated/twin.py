"""The digital twin: simulated smart meter, circuit meters and PV inverter of one household, and its
smart appliances.

The meters implement the same natures as real drivers (devices/natures.py), and their numbers agree
like a real house: the grid meter's per-line currents are the phasor sums of the circuits' currents
minus PV and battery discharge, and its power is the circuits' total minus PV. Every circuit draws
the household's own load (devices/simulated/household.py) plus what the smart appliance on it does
(devices/simulated/appliances.py); each appliance is driven by its `ApplianceAgent`
(devices/appliances/agent.py), ticked at every instant the twin is read, so what the appliances
hear from the box and do is exactly what the meters see. Any device can be told to fail (for tests).
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from devices.appliances.agent import ApplianceAgent
from devices.natures import CircuitReading, DeviceError, GridReading, PvReading
from devices.simulated.appliances import SimBattery, SimEvCharger, SimProgram, SimWaterHeater
from devices.simulated.behaviour import Behaviour
from devices.simulated.heatpump import SimHeatPump
from devices.simulated.household import Household
from devices.simulated.layout import SimCircuit, circuit_current_a, element_currents, household_circuits
from devices.simulated.solar import PvSite, SolarCache

log = logging.getLogger(__name__)


class _Clock(Protocol):
    def now(self) -> datetime: ...


class Speaker(Protocol):
    """What speaks for one of the twin's appliances: its `ApplianceAgent` (the box's protocol), or
    the simulated relay or charge point in front of it (a real driver's peer, `hems.twin`)."""

    device: Any

    def tick(self, now: datetime) -> None: ...

    def disconnect(self, clean: bool = False) -> None: ...


@dataclass(frozen=True, slots=True)
class TwinState:
    """Everything of one instant: circuit powers [W], PV [W], line currents [A], voltages [V]."""

    time: datetime
    circuit_w: dict[str, float]
    pv_w: float
    battery_w: float  #: + charging, − discharging
    line_current_a: dict[str, float]
    line_power_w: dict[str, float]
    voltage_v: dict[str, float]


@dataclass
class Twin:
    clock: _Clock
    seed: int = 1
    timezone: str = "Europe/Oslo"
    network: str = "TN"
    voltage_v: float = 230.0
    latitude: float = 59.91
    longitude: float = 10.75
    pv_kwp: float = 6.0
    meter_id: str = "7359992890941742"
    fail: dict[str, str] = field(default_factory=dict)  #: device id → "error" | "hang"
    staged: date | None = None  #: the day with the staged overload evening (the demo's first)
    battery_kwh: float = 0.0  #: a home battery of this capacity (0: none) [kWh]
    battery_kw: float = 5.0  #: its inverter's power [kW]
    battery_id: str = "battery"
    #: SG Ready heat pumps (`heatpump.SimHeatPump`): (appliance id, circuit, line, compressor W) each
    heat_pumps: tuple[tuple[str, str, str, float], ...] = ()
    behaviour: Behaviour = field(default=None)  # type: ignore[assignment]  # default: seeded days
    circuits: list[SimCircuit] = field(init=False)
    household: Household = field(init=False)
    appliances: list[Any] = field(init=False)  #: the smart appliances (`ApplianceDevice`s)
    battery: SimBattery | None = field(init=False, default=None)
    agents: dict[str, Speaker] = field(init=False, default_factory=dict)
    _solar: SolarCache | None = field(init=False, default=None)
    _state: TwinState | None = field(init=False, default=None)
    _lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)
    e_import_wh: float = field(init=False, default=0.0)
    e_export_wh: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.circuits = household_circuits(self.network)
        if self.behaviour is None:
            self.behaviour = Behaviour(self.seed, self.timezone, staged=self.staged)
        self.household = Household(self.seed, self.timezone, self.behaviour)
        self.appliances = standard_appliances(self.behaviour, self.network)
        if self.battery_kwh > 0:
            self.battery = SimBattery(self.battery_id, self.battery_kwh, self.battery_kw)
            self.appliances.append(self.battery)
        for device in self.appliances:  # on their own until `attach` gives them a link to a box
            self.agents[device.id] = ApplianceAgent(device, None, "twin")
        for hp_id, circuit, line, p_el_w in self.heat_pumps:  # their own controllers; SG Ready moves them
            pump = SimHeatPump(hp_id, circuit, line, self.household.outdoor_temp_c, p_el_w=p_el_w)
            self.appliances.append(pump)
        if self.pv_kwp > 0:
            self._solar = SolarCache(PvSite(self.latitude, self.longitude, self.timezone, kwp=self.pv_kwp))
        r = random.Random(f"{self.seed}:meter")
        self.meter_id = f"73599928{r.randrange(10**8):08d}"
        self.e_import_wh = r.uniform(20_000_000, 60_000_000)  # a meter some years old

    async def state(self, t: datetime) -> TwinState:
        """The household at instant ``t`` (memoised, so all devices of a cycle agree)."""
        async with self._lock:
            if self._state is not None and self._state.time == t:
                return self._state
            previous = self._state
            clear: list[float] = []
            if self._solar is not None:
                local_day = t.astimezone(self.household._tz).date()
                try:
                    clear = await self._solar.get(local_day)
                except Exception as exc:  # a broken worker must not stop the household
                    log.warning("clear-sky PV profile for %s unavailable: %s", local_day, exc)
                self._solar.request(local_day.fromordinal(local_day.toordinal() + 1))  # prefetch
            for agent in self.agents.values():
                agent.tick(t)
            circuit_w = {c.id: 0.0 for c in self.circuits}
            circuit_w.update(self.household.base_w(t))
            for device in self.appliances:
                if device.circuit is not None:
                    circuit_w[device.circuit] += device.power_w(t)
            pv_w = self.household.pv_w(t, clear) if clear else 0.0
            battery_w = 0.0
            if self.battery is not None:
                battery_w = self.battery.power_w(t, sum(circuit_w.values()) - pv_w)
            state = self._electrics(t, circuit_w, pv_w, battery_w)
            if previous is not None and t > previous.time:
                dt_h = min((t - previous.time).total_seconds(), 3600.0) / 3600.0
                net = sum(previous.line_power_w.values())
                self.e_import_wh += max(net, 0.0) * dt_h
                self.e_export_wh += max(-net, 0.0) * dt_h
            self._state = state
            return state

    async def clear_sky(self, day: date) -> list[float]:
        """The clear-sky PV power of local ``day``, per minute [W] (empty without PV)."""
        if self._solar is None:
            return []
        return await self._solar.get(day)

    def attach(self, agent: Speaker) -> None:
        """Let ``agent`` speak for its device (replacing the one running it on its own)."""
        self.agents[agent.device.id] = agent

    def _electrics(
        self, t: datetime, circuit_w: dict[str, float], pv_w: float, battery_w: float = 0.0
    ) -> TwinState:
        lines = ("L1",) if self.network == "1P" else ("L1", "L2", "L3")
        phasors = {ln: 0j for ln in lines}
        power = {ln: 0.0 for ln in lines}
        elements = [(c.line, circuit_w[c.id]) for c in self.circuits] + [("3P", battery_w - pv_w)]
        for line, p in elements:
            touched = element_currents(p, line, self.network, self.voltage_v)
            for ln, i in touched.items():
                phasors[ln] += i
            for ln in touched:  # active power shared over the lines the element touches
                power[ln] += p / len(touched)
        currents = {ln: abs(i) for ln, i in phasors.items()}
        # a little voltage drop with load, as on a real service cable
        volts = {ln: 233.0 - 0.15 * currents[ln] for ln in lines}
        return TwinState(t, circuit_w, pv_w, battery_w, currents, power, volts)

    def close(self) -> None:
        if self._solar is not None:
            self._solar.close()

    async def _maybe_fail(self, device_id: str) -> None:
        mode = self.fail.get(device_id)
        if mode == "hang":
            await asyncio.sleep(3600)
        if mode:
            raise DeviceError(f"{device_id}: simulated failure ({mode})")


class SimGridMeter:
    """The simulated smart meter: an Aidon meter sending list 2 every cycle and list 3 (with the
    cumulative energy registers) at the first cycle of each hour, as real HAN frames that go through
    the same decoder as a real meter's (devices/han)."""

    def __init__(self, twin: Twin) -> None:
        self.twin = twin
        self.id = "grid"
        self._hour: datetime | None = None

    def _values(self, t: datetime, s: TwinState) -> GridReading:
        net = sum(s.line_power_w.values())
        cur, volts = s.line_current_a, s.voltage_v
        return GridReading(
            time=t,
            p_import_w=round(max(net, 0.0)),
            p_export_w=round(max(-net, 0.0)),
            i_l1_a=round(cur["L1"], 1),
            i_l2_a=round(cur["L2"], 1) if "L2" in cur else None,
            i_l3_a=round(cur["L3"], 1) if "L3" in cur else None,
            u_l1_v=round(volts["L1"], 1),
            u_l2_v=round(volts["L2"], 1) if "L2" in volts else None,
            u_l3_v=round(volts["L3"], 1) if "L3" in volts else None,
            e_import_kwh=round(self.twin.e_import_wh / 1000.0, 2),
            e_export_kwh=round(self.twin.e_export_wh / 1000.0, 2),
            meter_id=self.twin.meter_id,
            meter_type="6841131BN243101040",
            meter_clock=t,
        )

    async def read(self) -> GridReading:
        from devices.han.decode import parse_frame
        from devices.han.encode import encode_grid_reading

        await self.twin._maybe_fail(self.id)
        t = self.twin.clock.now()
        s = await self.twin.state(t)
        hour = t.replace(minute=0, second=0, microsecond=0)
        list_no = 3 if hour != self._hour else 2
        self._hour = hour
        frame = encode_grid_reading(self._values(t, s), list_no, "aidon", self.twin.timezone)
        return parse_frame(frame).to_grid_reading(t, self.twin.timezone)


class SimCircuitMeter:
    def __init__(self, twin: Twin, circuit: SimCircuit) -> None:
        self.twin = twin
        self.circuit = circuit
        self.id = circuit.id
        self._e_wh = random.Random(f"{twin.seed}:{circuit.id}").uniform(10_000, 900_000)
        self._last: datetime | None = None

    async def read(self) -> CircuitReading:
        await self.twin._maybe_fail(self.id)
        t = self.twin.clock.now()
        s = await self.twin.state(t)
        p = s.circuit_w[self.id]
        if self._last is not None and t > self._last:
            self._e_wh += p * min((t - self._last).total_seconds(), 3600.0) / 3600.0
        self._last = t
        c = self.circuit
        net = self.twin.network
        u = s.voltage_v.get(c.line[:2], s.voltage_v["L1"])
        i = circuit_current_a(p, c.line, net, self.twin.voltage_v)
        per_line: dict[str, float | None] = {}
        if c.line == "3P" and net != "1P":
            currents = element_currents(p, "3P", net, self.twin.voltage_v)
            per_line = {f"i_{ln.lower()}_a": round(abs(v), 2) for ln, v in currents.items()}
            per_line |= {f"p_{ln.lower()}_w": round(p / 3, 1) for ln in currents}
        return CircuitReading(
            time=t,
            u_v=round(u, 1),
            i_a=round(i, 2),
            p_w=round(p, 1),
            e_import_kwh=round(self._e_wh / 1000.0, 3),
            **per_line,
        )


class SimPvInverter:
    def __init__(self, twin: Twin) -> None:
        self.twin = twin
        self.id = "pv"
        self._e_wh = random.Random(f"{twin.seed}:pv").uniform(1_000_000, 9_000_000)
        self._last: datetime | None = None

    async def read(self) -> PvReading:
        await self.twin._maybe_fail(self.id)
        t = self.twin.clock.now()
        s = await self.twin.state(t)
        if self._last is not None and t > self._last:
            self._e_wh += s.pv_w * min((t - self._last).total_seconds(), 3600.0) / 3600.0
        self._last = t
        return PvReading(time=t, p_w=round(s.pv_w, 1), e_total_kwh=round(self._e_wh / 1000.0, 3))


def standard_appliances(behaviour: Behaviour, network: str) -> list[Any]:
    """The twin's smart appliances, each on its circuit of `household_circuits` (its line there)."""
    lines = {c.id: c.line for c in household_circuits(network)}
    return [
        SimProgram("dishwasher", behaviour, "dishwasher", lines["dishwasher"]),
        SimProgram("washer", behaviour, "washer", lines["washer"]),
        SimEvCharger("ev", behaviour, "ev-charger", lines["ev-charger"]),
        SimWaterHeater("water-heater", behaviour, "water-heater", lines["water-heater"]),
    ]
