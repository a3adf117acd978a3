"""The twin's smart appliances: a dishwasher, a washing machine, an EV charger, a water heater and a
home battery, each an `ApplianceDevice` (devices/appliances/device.py) with its physics.

They know the household's needs (`devices.simulated.behaviour`), run when the agent tells them to
(or by themselves), and their power is what the twin's circuit meters and grid meter see. Power is
piecewise constant between the instants `next_change` names, so a fast-forwarding simulation that
steps from one such instant to the next integrates energy exactly.

- `SimProgram`: an uninterruptible program of (minutes, watts) segments, 1 W on standby.
- `SimEvCharger`: a car plugged in from the need's ``at`` to its ``latest_end`` (departure);
  charges at the set point, paused below 6 A (``min_w``), stops when the car has what it needs.
- `SimWaterHeater`: a 2 kW element on a tank; a set point below 2 kW is met by switching the
  element on for that share of each quarter-hour (from the quarter's start), as a relay would.
  The tank's level follows heat in, showers and standing losses.
- `SimBattery`: a battery inverter aiming at a grid exchange: the plan's net import (its set
  point), or zero without one (self-consumption), within its power and state of charge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from devices.appliances.device import DeviceKind, DeviceStatus, Need, battery_guard
from devices.simulated.behaviour import HEATER_W, TANK_LOSS_W, Behaviour

QUARTER_S = 900.0


def _quarter_start(t: datetime) -> datetime:
    ts = t.timestamp()
    return t - timedelta(seconds=ts % QUARTER_S)


@dataclass
class _NeedBook:
    """The needs of one appliance, from the household's days, and which are done."""

    appliance: str
    behaviour: Behaviour
    done: dict[str, datetime] = field(default_factory=dict)  #: need key → when it was done
    _days: dict[date, list[Need]] = field(default_factory=dict)

    def on(self, day: date) -> list[Need]:
        got = self._days.get(day)
        if got is None:
            got = self._days[day] = [n for n in self.behaviour.needs(day) if n.appliance == self.appliance]
            for old in sorted(self._days)[:-4]:
                del self._days[old]
        return got

    def around(self, now: datetime) -> list[Need]:
        today = self.behaviour.day_of(now)
        return [*self.on(today - timedelta(days=1)), *self.on(today), *self.on(today + timedelta(days=1))]

    def current(self, now: datetime) -> Need | None:
        """The latest need asked by ``now`` that is neither done nor expired."""
        found = None
        for n in self.around(now):
            if n.at <= now and n.key not in self.done and now < n.latest_end:
                found = n
        return found

    def next_at(self, now: datetime) -> datetime | None:
        ahead = [n.at for n in self.around(now) if n.at > now]
        return min(ahead) if ahead else None


class _Device:
    """What every twin appliance on a circuit has: its id, circuit, line and needs."""

    def __init__(self, appliance_id: str, behaviour: Behaviour, circuit: str, line: str) -> None:
        self.id = appliance_id
        self.circuit = circuit
        self.line = line
        self.book = _NeedBook(appliance_id, behaviour)


class SimProgram(_Device):
    """A dishwasher or washing machine (see the module docstring)."""

    kind: DeviceKind = "shiftable"

    def __init__(self, appliance_id: str, behaviour: Behaviour, circuit: str, line: str) -> None:
        super().__init__(appliance_id, behaviour, circuit, line)
        self.started: dict[str, datetime] = {}  #: need key → start
        self.running: Need | None = None
        self.finished: list[tuple[Need, datetime, datetime]] = []  #: (need, start, end)

    def _settle(self, now: datetime) -> None:
        if self.running is not None:
            start = self.started[self.running.key]
            if now >= start + self.running.duration:
                end = start + self.running.duration
                self.finished.append((self.running, start, end))
                self.book.done[self.running.key] = end
                self.running = None

    def need(self, now: datetime) -> Need | None:
        self._settle(now)
        return self.running or self.book.current(now)

    def start(self, now: datetime) -> None:
        self._settle(now)
        need = self.book.current(now)
        if self.running is None and need is not None and need.key not in self.started:
            self.started[need.key] = now
            self.running = need

    def set_power(self, now: datetime, kw: float | None) -> None:
        """A program cannot be paused or turned down."""

    def power_w(self, t: datetime) -> float:
        self._settle(t)
        if self.running is None:
            return 1.0
        minutes = (t - self.started[self.running.key]).total_seconds() / 60.0
        elapsed = 0.0
        for length, watts in self.running.profile:
            elapsed += length
            if minutes < elapsed:
                return watts
        return 1.0

    def status(self, now: datetime) -> DeviceStatus:
        p = self.power_w(now)
        program = "eco" if self.running is not None else None
        return DeviceStatus(self.running is not None, p, program)

    def next_change(self, now: datetime) -> datetime | None:
        self._settle(now)
        if self.running is not None:
            start = self.started[self.running.key]
            t = start
            for length, _ in self.running.profile:
                t += timedelta(minutes=length)
                if t > now:
                    return t
        return self.book.next_at(now)


class _EnergyDevice(_Device):
    """Shared by the EV charger and the water heater: a session per need, energy delivered."""

    kind: DeviceKind = "energy"

    def __init__(self, appliance_id: str, behaviour: Behaviour, circuit: str, line: str) -> None:
        super().__init__(appliance_id, behaviour, circuit, line)
        self.delivered_wh: dict[str, float] = {}
        self.setpoint_kw: float | None = None  #: None: its own control (full power)
        self.sessions: list[tuple[Need, float, datetime | None]] = []  #: (need, Wh, when done)
        self._last: datetime | None = None
        self._power = 0.0
        self._session: Need | None = None

    # the session and its energy
    def _close(self, need: Need, done: datetime | None) -> None:
        self.sessions.append((need, self.delivered_wh.get(need.key, 0.0), done))
        self.book.done.setdefault(need.key, done or need.latest_end)

    def advance(self, t: datetime) -> None:
        """Integrate the power held since the last instant up to ``t``."""
        if self._last is not None and t > self._last and self._session is not None:
            need = self._session
            until = min(t, need.latest_end)
            if until > self._last:
                wh = self._power * (until - self._last).total_seconds() / 3600.0
                got = self.delivered_wh.get(need.key, 0.0) + wh
                if got >= need.energy_wh - 1e-6:
                    self.delivered_wh[need.key] = need.energy_wh
                    self._close(need, self._last + timedelta(hours=(need.energy_wh - got + wh) / self._power))
                    self._session = None
                else:
                    self.delivered_wh[need.key] = got
            if self._session is not None and t >= need.latest_end:
                self._close(need, None)  # gone (the car left) before it had what it needed
                self._session = None
        self._last = t if self._last is None else max(self._last, t)
        if self._session is None:
            self._session = self.book.current(t)
            if self._session is not None:
                self.delivered_wh.setdefault(self._session.key, 0.0)
        self._power = self._power_now(t)

    def need(self, now: datetime) -> Need | None:
        self.advance(now)
        return self._session

    def start(self, now: datetime) -> None:
        self.set_power(now, None)

    def set_power(self, now: datetime, kw: float | None) -> None:
        self.advance(now)
        self.setpoint_kw = kw
        self._power = self._power_now(now)

    def remaining_wh(self) -> float:
        s = self._session
        return 0.0 if s is None else max(s.energy_wh - self.delivered_wh.get(s.key, 0.0), 0.0)

    def _target_w(self) -> float:
        s = self._session
        if s is None:
            return 0.0
        return s.max_w if self.setpoint_kw is None else max(0.0, min(self.setpoint_kw * 1000.0, s.max_w))

    def _power_now(self, t: datetime) -> float:
        raise NotImplementedError

    def power_w(self, t: datetime) -> float:
        self.advance(t)
        return self._power

    def status(self, now: datetime) -> DeviceStatus:
        self.advance(now)
        remaining = self.remaining_wh() / 1000.0 if self._session is not None else None
        return DeviceStatus(self._power > 10.0, self._power, None, remaining)

    def _full_at(self, now: datetime) -> datetime | None:
        if self._session is None or self._power <= 0:
            return None
        return now + timedelta(hours=self.remaining_wh() / self._power)

    def next_change(self, now: datetime) -> datetime | None:
        self.advance(now)
        times = [self._full_at(now), self.book.next_at(now)]
        if self._session is not None:
            times.append(self._session.latest_end)
        future = [t for t in times if t is not None and t > now]
        return min(future) if future else None


class SimEvCharger(_EnergyDevice):
    """An EV on a charger (see the module docstring)."""

    def _power_now(self, t: datetime) -> float:
        s = self._session
        if s is None or self.remaining_wh() <= 1e-6:
            return 0.0
        p = self._target_w()
        return p if p >= s.min_w else 0.0  # below 6 A a charger pauses

    def status(self, now: datetime) -> DeviceStatus:
        st = super().status(now)
        program = "charging" if st.running else ("plugged in" if self._session is not None else None)
        return DeviceStatus(st.running, st.p_w, program, st.remaining_kwh)


class SimWaterHeater(_EnergyDevice):
    """A water heater and its tank (see the module docstring)."""

    def __init__(
        self,
        appliance_id: str,
        behaviour: Behaviour,
        circuit: str,
        line: str,
        full_kwh: float = 10.5,
    ) -> None:
        super().__init__(appliance_id, behaviour, circuit, line)
        self.full_kwh = full_kwh
        self.tank_kwh = full_kwh

    def _power_now(self, t: datetime) -> float:
        if self._session is None or self.remaining_wh() <= 1e-6:
            return 0.0
        share = self._target_w() / HEATER_W
        if share >= 1.0 - 1e-9:
            return HEATER_W
        into = (t - _quarter_start(t)).total_seconds()
        return HEATER_W if into < share * QUARTER_S - 1e-6 else 0.0

    def advance(self, t: datetime) -> None:
        prev = self._last
        before = sum(self.delivered_wh.values())
        super().advance(t)
        if prev is None and self._session is not None:  # mid-way: what the pending refill still owes
            left_h = (self._session.latest_end - t).total_seconds() / 3600
            owed = self._session.energy_wh - TANK_LOSS_W * left_h
            self.tank_kwh = self.full_kwh - max(owed, 0.0) / 1000.0
        if prev is not None and t > prev:
            hours = (t - prev).total_seconds() / 3600.0
            behaviour = self.book.behaviour
            drawn = sum(
                wh * max(0.0, (min(t, at + timedelta(minutes=10)) - max(prev, at)).total_seconds()) / 600.0
                for day in {behaviour.day_of(prev), behaviour.day_of(t)}
                for at, wh in behaviour.draws_wh(day)
            )
            heat = sum(self.delivered_wh.values()) - before
            self.tank_kwh += (heat - drawn - TANK_LOSS_W * hours) / 1000.0

    def next_change(self, now: datetime) -> datetime | None:
        times = [super().next_change(now)]
        if self._session is not None and self._power_now(now) > 0 and self._target_w() < HEATER_W:
            share = self._target_w() / HEATER_W
            times.append(_quarter_start(now) + timedelta(seconds=share * QUARTER_S))
        if self._session is not None:
            times.append(_quarter_start(now) + timedelta(seconds=QUARTER_S))
        future = [t for t in times if t is not None and t > now]
        return min(future) if future else None

    def status(self, now: datetime) -> DeviceStatus:
        st = super().status(now)
        program = f"tank {self.tank_kwh:.1f} kWh"
        return DeviceStatus(st.running, st.p_w, program, st.remaining_kwh)


class SimBattery:
    """A home battery behind its own inverter (see the module docstring)."""

    kind: DeviceKind = "battery"

    def __init__(
        self,
        appliance_id: str,
        capacity_kwh: float,
        max_kw: float,
        efficiency: float = 0.95,
        initial_kwh: float | None = None,
    ) -> None:
        self.id = appliance_id
        self.circuit = None
        self.line = "3P"
        self.capacity_kwh = capacity_kwh
        self.max_kw = max_kw
        self.efficiency = efficiency
        self.soc_kwh = capacity_kwh / 2 if initial_kwh is None else initial_kwh
        self.setpoint_kw: float | None = None  #: None: self-consumption
        self.planned_kw: float | None = None  #: the plan's own power in the slot (`battery_guard`)
        self.direct_w: float | None = None  #: a power its inverter was told over Modbus (+ charging) [W]
        self._last: datetime | None = None
        self._power_w = 0.0  #: + charging, − discharging [W]
        self.charged_kwh = 0.0
        self.discharged_kwh = 0.0

    def need(self, now: datetime) -> Need | None:
        return None

    def start(self, now: datetime) -> None:
        self.setpoint_kw = self.planned_kw = None

    def set_power(self, now: datetime, kw: float | None, planned_kw: float | None = None) -> None:
        self.setpoint_kw, self.planned_kw = kw, planned_kw

    def power_w(self, t: datetime, house_net_w: float) -> float:
        """Battery power at ``t`` [W] (+ charging), given the rest of the house's net import [W].

        The inverter aims at a grid exchange: its set point is the planned net import of the house
        (import +, export −), so what the forecast got wrong is taken up by the battery, within its
        power and charge, as far as `battery_guard` lets it; without one it aims at zero."""
        self.advance(t)
        limit = self.max_kw * 1000.0
        if self.direct_w is not None:  # told a power (a SunSpec storage control): that, within limits
            want = max(-limit, min(limit, self.direct_w))
        else:
            target_w = 0.0 if self.setpoint_kw is None else self.setpoint_kw * 1000.0
            want = target_w - house_net_w
            want = max(-limit, min(limit, battery_guard(want, house_net_w, self.planned_kw)))
        if want > 0 and self.soc_kwh >= self.capacity_kwh - 1e-6:
            want = 0.0
        if want < 0 and self.soc_kwh <= 1e-6:
            want = 0.0
        self._power_w = want
        return want

    def advance(self, t: datetime) -> None:
        if self._last is not None and t > self._last:
            hours = (t - self._last).total_seconds() / 3600.0
            p = self._power_w / 1000.0
            if p > 0:
                stored = min(p * hours * self.efficiency, self.capacity_kwh - self.soc_kwh)
                self.charged_kwh += stored / self.efficiency
                self.soc_kwh += stored
            elif p < 0:
                taken = min(-p * hours / self.efficiency, self.soc_kwh)
                self.discharged_kwh += taken * self.efficiency
                self.soc_kwh -= taken
        self._last = t if self._last is None else max(self._last, t)

    def account(self, t: datetime, charged_kwh: float, discharged_kwh: float) -> None:
        """Book energy that went in and out up to ``t`` (grid side) [kWh], for a simulation that
        follows the inverter at a finer step than its calls (`hems.evaluate`)."""
        self.charged_kwh += charged_kwh
        self.discharged_kwh += discharged_kwh
        self.soc_kwh += charged_kwh * self.efficiency - discharged_kwh / self.efficiency
        self.soc_kwh = min(max(self.soc_kwh, 0.0), self.capacity_kwh)
        hours = (t - self._last).total_seconds() / 3600.0 if self._last is not None else 0.0
        self._power_w = (charged_kwh - discharged_kwh) * 1000.0 / hours if hours > 0 else 0.0
        self._last = t

    def status(self, now: datetime) -> DeviceStatus:
        self.advance(now)
        return DeviceStatus(abs(self._power_w) > 10.0, self._power_w, None, None, self.soc_kwh)

    def next_change(self, now: datetime) -> datetime | None:
        p = self._power_w / 1000.0
        if abs(p) < 0.01:
            return None
        if p > 0 and self.soc_kwh < self.capacity_kwh:
            return now + timedelta(hours=(self.capacity_kwh - self.soc_kwh) / (p * self.efficiency))
        if p < 0 and self.soc_kwh > 0:
            return now + timedelta(hours=self.soc_kwh * self.efficiency / -p)
        return None
