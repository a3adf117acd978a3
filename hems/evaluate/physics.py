"""The twin fast-forwarded: the world's house and the twin's own appliance devices, from event to event.

Between two instants the appliances' power is constant (the stepper steps at every instant an agent
or a device names, `next_change`/`next_event`, and at every slot boundary), so `FastTwin.integrate`
takes the house's 10-s base load and PV, adds the appliances' constant power and gets, exactly:
each 15-min slot's import and export (from the 10-s net power, as the meter's registers count
it), every circuit's and appliance's energy, and the line currents' mean and peak. A battery in
self-consumption follows the interval's mean net load.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from devices.appliances.device import battery_guard
from devices.natures import CircuitReading, GridReading, PvReading
from devices.simulated.appliances import SimBattery
from devices.simulated.heatpump import SimHeatPump
from devices.simulated.household import STEP_S
from devices.simulated.twin import standard_appliances
from hems.evaluate.world import SLOT_S, STEPS_PER_SLOT, World
from hems.twin import heat_pumps


@dataclass(frozen=True)
class Interval:
    """What the meters saw over [start, end) (means), for the box's snapshot at ``end``."""

    start: datetime
    end: datetime
    import_w: float
    export_w: float
    pv_w: float
    line_a: dict[str, float]  #: mean current per line [A]
    peak_a: float  #: largest line current in the interval [A]
    circuit_w: dict[str, float]


class FastTwin:
    """The twin's appliances (the same devices as the live twin's) in the world's house."""

    def __init__(self, world: World, battery: Any = None) -> None:
        self.world = world
        site = world.cfg.site
        self.devices: list[Any] = standard_appliances(world.behaviour, site.network)
        self.battery: SimBattery | None = None
        if battery is not None:
            self.battery = SimBattery(battery.id, battery.capacity_kwh, battery.power_kw, battery.efficiency)
            self.devices.append(self.battery)
        #: SG Ready heat pumps, each on its own controller until something moves its contacts
        self.heat_pumps = sim_heat_pumps(world)
        self.devices += self.heat_pumps
        n = len(world.slots)
        self.slot_import_kwh = np.zeros(n)
        self.slot_export_kwh = np.zeros(n)
        self.slot_device_kwh = {d.id: np.zeros(n) for d in self.devices}
        self.lines = list(world.line_phasor)
        self.fuse_a = site.main_fuse_a
        self.battery_w = 0.0

    def slot(self, t: datetime) -> int:
        return int(self.world.index(t) // STEPS_PER_SLOT)

    def device_powers(self, t: datetime) -> dict[str, float]:
        """Each appliance's power from ``t`` on [W] (the battery's is settled by `integrate`)."""
        return {d.id: d.power_w(t) for d in self.devices if d is not self.battery}

    def _weights(self, a: float, b: float) -> tuple[int, int, np.ndarray]:
        k0, k1 = math.floor(a + 1e-9), max(math.ceil(b - 1e-9), math.floor(a + 1e-9) + 1)
        w = np.full(k1 - k0, float(STEP_S))
        if k1 - k0 == 1:
            w[0] = (b - a) * STEP_S
        else:
            w[0] -= (a - k0) * STEP_S
            w[-1] -= (k1 - b) * STEP_S
        return k0, k1, w

    def _phasors(self, k0: int, k1: int, powers: dict[str, float], battery_w: float) -> dict[str, np.ndarray]:
        world = self.world
        lines_of = {d.id: d.line for d in self.devices if d is not self.battery}
        out = {}
        for ln in self.lines:
            extra = sum(world.coef[lines_of[i]][ln] * p for i, p in powers.items())
            extra += world.coef["3P"][ln] * battery_w
            out[ln] = world.line_phasor[ln][k0:k1] + extra - world.coef["3P"][ln] * world.pv_w[k0:k1]
        return out

    def peak_a(self, t0: datetime, t1: datetime, powers: dict[str, float]) -> float:
        """The largest line current over [t0, t1) with these appliance powers [A]."""
        k0, k1, _ = self._weights(self.world.index(t0), self.world.index(t1))
        k1 = min(k1, self.world.steps)
        if k1 <= k0:
            return 0.0
        return max(float(np.abs(p).max()) for p in self._phasors(k0, k1, powers, self.battery_w).values())

    def _battery_steps(self, t0: datetime, t1: datetime, net: np.ndarray, w: np.ndarray) -> np.ndarray:
        """The battery's power at each 10-s step of [t0, t1) [W] (+ charging): its aim (the set point's
        grid exchange, or zero) against the house's net load, or the power its inverter was told
        (a SunSpec storage control), within its power; a full or empty battery stops where its
        charge runs out (energy clipped over the interval)."""
        battery = self.battery
        assert battery is not None
        battery.advance(t0)
        limit = battery.max_kw * 1000.0
        if battery.direct_w is not None:  # its inverter was told a power over Modbus: it holds that
            want = np.full(len(net), max(-limit, min(limit, battery.direct_w)))
        else:
            target = 0.0 if battery.setpoint_kw is None else battery.setpoint_kw * 1000.0
            want = np.clip(battery_guard(target - net, net, battery.planned_kw), -limit, limit)
        charge_wh = float(np.dot(w, np.maximum(want, 0.0))) / 3600.0
        discharge_wh = float(np.dot(w, np.maximum(-want, 0.0))) / 3600.0
        room_wh = (battery.capacity_kwh - battery.soc_kwh) * 1000.0 / battery.efficiency
        stored_wh = battery.soc_kwh * 1000.0 * battery.efficiency
        c = min(1.0, room_wh / charge_wh) if charge_wh > 1e-9 else 1.0
        d = min(1.0, stored_wh / discharge_wh) if discharge_wh > 1e-9 else 1.0
        steps = np.where(want > 0, want * c, want * d)
        battery.account(t1, charge_wh * c / 1000.0, discharge_wh * d / 1000.0)
        return steps

    def integrate(self, t0: datetime, t1: datetime, powers: dict[str, float]) -> Interval:
        """Advance the house from ``t0`` to ``t1`` (one slot at most) at these appliance powers."""
        world = self.world
        a, b = world.index(t0), world.index(t1)
        k0, k1, w = self._weights(a, b)
        seconds = (t1 - t0).total_seconds()
        base = world.base_total_w[k0:k1]
        pv = world.pv_w[k0:k1]
        load = sum(powers.values())
        net = base + load - pv
        if self.battery is not None:  # the inverter follows the meter every second: per 10-s step
            battery = self._battery_steps(t0, t1, net, w)
            net = net + battery
            self.battery_w = float(np.dot(w, battery)) / seconds
        imp = float(np.dot(w, np.maximum(net, 0.0))) / 3600.0 / 1000.0
        exp = float(np.dot(w, np.maximum(-net, 0.0))) / 3600.0 / 1000.0
        i = int(a // STEPS_PER_SLOT)
        self.slot_import_kwh[i] += imp
        self.slot_export_kwh[i] += exp
        for did, p in powers.items():
            self.slot_device_kwh[did][i] += p * seconds / 3.6e6
        if self.battery is not None:
            self.slot_device_kwh[self.battery.id][i] += self.battery_w * seconds / 3.6e6
        phasors = self._phasors(k0, k1, powers, self.battery_w)
        mags = {ln: np.abs(p) for ln, p in phasors.items()}
        circuit_w = {c: float(np.dot(w, world.base_w[c][k0:k1])) / seconds for c in world.base_w}
        for d in self.devices:
            if d is not self.battery and d.circuit is not None:
                circuit_w[d.circuit] = circuit_w.get(d.circuit, 0.0) + powers[d.id]
        return Interval(
            t0,
            t1,
            imp * 3.6e6 / seconds,
            exp * 3.6e6 / seconds,
            float(np.dot(w, pv)) / seconds,
            {ln: float(np.dot(w, m)) / seconds for ln, m in mags.items()},
            max(float(m.max()) for m in mags.values()),
            circuit_w,
        )


def sim_heat_pumps(world: World) -> list[SimHeatPump]:
    """The world's SG Ready heat pumps (`hems.twin.heat_pumps`), each on its own controller."""
    return [
        SimHeatPump(hp_id, circuit, line, world.outdoor_c, p_el_w=p_el_w)
        for hp_id, circuit, line, p_el_w in heat_pumps(world.cfg)
    ]


def heat_pumps_on_their_own_kw(world: World) -> np.ndarray:
    """The SG Ready heat pumps' electricity per slot [kW mean] when nothing moves their contacts:
    what `none` and `oracle` get (the oracle knows it in advance, as it knows the base load)."""
    out = np.zeros(len(world.slots))
    for pump in sim_heat_pumps(world):
        for i, t0 in enumerate(world.slots):
            t, t1 = t0, t0 + timedelta(seconds=SLOT_S)
            while t < t1:
                w = pump.power_w(t)
                change = pump.next_change(t)
                t_next = min(change, t1) if change is not None and change > t else t1
                out[i] += w * (t_next - t).total_seconds() / SLOT_S / 1000.0
                t = t_next
    return out


def snapshot_parts(iv: Interval, voltage_v: float, circuits: list[Any]) -> dict[str, Any]:
    """The readings of a snapshot at ``iv.end`` (grid, circuits, PV) from the interval's means."""
    t = iv.end
    cur = iv.line_a
    grid = GridReading(
        time=t,
        p_import_w=round(iv.import_w, 1),
        p_export_w=round(iv.export_w, 1),
        i_l1_a=round(cur.get("L1", 0.0), 2),
        i_l2_a=round(cur["L2"], 2) if "L2" in cur else None,
        i_l3_a=round(cur["L3"], 2) if "L3" in cur else None,
    )
    readings = {}
    for c in circuits:
        p = iv.circuit_w.get(c.id, 0.0)
        amps = p / (3 * voltage_v) if c.line == "3P" else p / voltage_v
        readings[c.id] = CircuitReading(time=t, p_w=round(p, 1), i_a=round(amps, 2))
    return {"grid": grid, "circuits": readings, "pv": PvReading(time=t, p_w=round(iv.pv_w, 1))}


def next_boundary(t: datetime) -> datetime:
    """The next slot boundary after ``t``."""
    ts = t.timestamp()
    return t + timedelta(seconds=SLOT_S - ts % SLOT_S)


def next_step(t: datetime) -> datetime:
    """The next 10-s instant after ``t`` (a fine step, on the daemon's cycle grid)."""
    ts = t.timestamp()
    return t + timedelta(seconds=STEP_S - ts % STEP_S)
