"""What every driver shares: an `Actuator` (the device's protocol), a `Follow` check on its read-back
power, and `DrivenDevice`, the `ApplianceDevice` the agent speaks for.

An actuator is told a power (``command``), and reads back what the device says it does (its relay's
state and its power meter). `Follow` compares the two: a command not confirmed within its deadline
(a relay that never answers, a switch flipped by hand, a charger that rejects its limit or draws
more than it) is a *fault*; the agent then reports the appliance ``offline`` so the box plans
without it, and the host records the fault as an event. A fault clears when the device follows
again (the need is then asked for once more).

Times are aware UTC; powers in watts (``_w``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from devices.appliances.device import DeviceKind, DeviceStatus, Need, battery_guard

QUARTER_S = 900.0


@dataclass(frozen=True)
class Reading:
    """What the device said about itself."""

    at: datetime
    on: bool | None  #: the relay's output / the charger's "charging" (None: not said)
    p_w: float | None  #: its power meter [W] (None: not metered)
    energy_wh: float | None = None  #: its energy counter [Wh]
    limit_w: float | None = None  #: the limit it accepted (a charger) [W]
    soc_kwh: float | None = None  #: a battery's charge [kWh]


@dataclass(frozen=True)
class Ahead:
    """The plan ahead for a device that can hold a whole schedule (an OCPP charger): ``watts`` per
    slot of ``slot_s`` seconds from ``start``; nothing before it, 0 after its end (as the plan)."""

    start: datetime
    slot_s: float
    watts: tuple[float, ...]

    def at(self, t: datetime) -> float | None:
        i = int((t - self.start).total_seconds() // self.slot_s)
        return None if i < 0 else (self.watts[i] if i < len(self.watts) else 0.0)

    def periods(self) -> list[tuple[int, float]]:
        """(seconds from ``start``, W) where the power changes, and 0 from the end on."""
        out: list[tuple[int, float]] = []
        for i, w in enumerate((*self.watts, 0.0)):
            if not out or out[-1][1] != w:
                out.append((round(i * self.slot_s), w))
        return out


class Actuator(Protocol):
    """One device's protocol (a Shelly, a Tasmota, an OCPP charge point, a SunSpec inverter)."""

    id: str
    max_w: float

    def command(self, now: datetime, w: float | None) -> None:
        """Be at ``w`` from now on [W] (0: off; a relay switches on for any w > 0; a battery: +
        charges, − discharges, None: its own control)."""
        ...

    def poll(self, now: datetime) -> Reading | None:
        """Read what arrived; the newest reading (None: never heard from)."""
        ...

    def problems(self) -> list[str]:
        """Protocol trouble since the last call (a garbage payload, a rejected command)."""
        ...

    def close(self) -> None: ...


class NeedSource(Protocol):
    def need(self, now: datetime) -> Need | None: ...


@dataclass
class Follow:
    """Whether the device follows its commands (see the module docstring)."""

    confirm_s: float  #: a command must show in the read-back within this [s]
    stale_s: float  #: no reading for this long: offline [s]
    tolerance_w: float = 100.0
    commanded: tuple[datetime, float] | None = None
    fault: str | None = None
    confirmed_after_s: list[float] | None = None  #: how long each confirmation took (bench)

    def command(self, now: datetime, w: float) -> None:
        if self.commanded is None or abs(self.commanded[1] - w) > 1e-6:
            self.commanded = (now, w)

    def check(self, now: datetime, reading: Reading | None, born: datetime) -> str | None:
        """The fault now (None: following); updates ``fault``."""
        self.fault = self._fault(now, reading, born)
        return self.fault

    def _fault(self, now: datetime, reading: Reading | None, born: datetime) -> str | None:
        last = reading.at if reading is not None else born
        if (now - last).total_seconds() > self.stale_s:
            return f"no report for {(now - last).total_seconds():.0f} s (offline?)"
        if self.commanded is None or reading is None:
            return None
        at, want = self.commanded
        if self._agrees(reading, want):
            if self.confirmed_after_s is not None and reading.at >= at:
                self.confirmed_after_s.append((reading.at - at).total_seconds())
                self.commanded = (datetime.max.replace(tzinfo=at.tzinfo), want)  # counted once
            return None
        if (now - at).total_seconds() <= self.confirm_s or reading.at < at:
            return self.fault  # not yet due
        state = "on" if reading.on else "off"
        p = f"{reading.p_w:.0f} W" if reading.p_w is not None else "no power reading"
        target = "off" if want <= 0 else f"{want:.0f} W"
        return f"does not follow: told {target}, is {state} at {p} (offline or switched by hand?)"

    def _agrees(self, r: Reading, want: float) -> bool:
        if r.soc_kwh is not None:  # a battery: the set-point in force is the one sent
            return r.limit_w is not None and abs(r.limit_w - want) <= self.tolerance_w
        if r.limit_w is not None:  # a charger: the limit in force, and no more than it drawn
            return abs(r.limit_w - want) <= self.tolerance_w and (r.p_w or 0.0) <= want + self.tolerance_w
        if r.on is not None:
            return r.on == (want > 0)
        return r.p_w is not None and (r.p_w > self.tolerance_w) == (want > 0)


#: a battery's planned grid exchange this close to zero is left to the inverter's own control [kW]
OWN_CONTROL_KW = 0.02


class DrivenDevice:
    """An appliance behind a driver: needs from ``needs``, power to ``actuator``, status read back.

    ``relay``: the device is on or off, so a planned power below its full one is met by switching on
    for that share of each quarter-hour (from the quarter's start), as the twin's water heater does.
    """

    def __init__(
        self,
        appliance_id: str,
        kind: DeviceKind,
        actuator: Actuator,
        needs: NeedSource | None,
        now: datetime,
        *,
        relay: bool = True,
        grid_w: Callable[[], float | None] | None = None,
        confirm_s: float = 20.0,
        stale_s: float = 300.0,
    ) -> None:
        self.id = appliance_id
        self.kind = kind
        self.actuator = actuator
        self.needs = needs
        self.relay = relay
        self.grid_w = grid_w  #: a battery: the measured grid exchange now (import +) [W]
        self.follow = Follow(confirm_s, stale_s)
        self.born = now
        self.setpoint_kw: float | None = 0.0
        self.reading: Reading | None = None
        self.delivered_wh: dict[str, float] = {}
        self._need: Need | None = None
        self._last: datetime | None = None
        self.plan: Ahead | None = None  #: the schedule the device holds itself (a charger)
        self._on_plan = False  #: the last command was the plan's own power
        self._sent: tuple[datetime, float] | None = None
        self.on_problem: Callable[[str], None] | None = None

    @property
    def fault(self) -> str | None:
        return self.follow.fault

    def poll(self, now: datetime) -> None:
        """Read the device and integrate its energy into the need in hand."""
        reading = self.actuator.poll(now)
        for problem in self.actuator.problems():
            if self.on_problem is not None:
                self.on_problem(problem)
        if reading is not None and self._last is not None and self._need is not None:
            p = (self.reading.p_w if self.reading is not None else None) or 0.0
            hours = max((now - self._last).total_seconds(), 0.0) / 3600.0
            key = self._need.key
            self.delivered_wh[key] = self.delivered_wh.get(key, 0.0) + max(p, 0.0) * hours
        self.reading = reading
        self._last = now
        if self._on_plan and self.plan is not None and (w := self.plan.at(now)) is not None:
            self.follow.command(now, w)  # it moves at the plan's slot boundaries by itself
        self.follow.check(now, reading, self.born)

    def ahead(self, plan: Any) -> None:
        """The schedule the appliance follows (an agent's `Plan`; None: none), for an actuator that
        holds a whole schedule (``plan_ahead``); the others take each slot's power as it comes."""
        hold = getattr(self.actuator, "plan_ahead", None)
        if hold is None:
            return
        new = None
        if plan is not None:
            full = self.actuator.max_w
            watts = tuple(max(0.0, min(kw * 1000.0, full)) for kw in plan.power_kw)
            new = Ahead(plan.slot_start, plan.slot_minutes * 60.0, watts)
        if new != self.plan:
            self.plan = new
            hold(new)
        self._plan_check()

    def _plan_check(self) -> None:
        c = self._sent
        planned = self.plan.at(c[0]) if self.plan is not None and c is not None else None
        self._on_plan = planned is not None and c is not None and abs(planned - c[1]) < 1.0

    # --- ApplianceDevice ------------------------------------------------------------------------
    def need(self, now: datetime) -> Need | None:
        need = self.needs.need(now) if self.needs is not None else None
        if need is not None and need.kind == "energy" and self.remaining_wh(need) <= 1e-6:
            need = None  # done
        self._need = need
        return need

    def remaining_wh(self, need: Need) -> float:
        return max(need.energy_wh - self.delivered_wh.get(need.key, 0.0), 0.0)

    def start(self, now: datetime) -> None:
        self.set_power(now, None)

    def set_power(self, now: datetime, kw: float | None, planned_kw: float | None = None) -> None:
        """The set point: a relay's or charger's power [kW]; a battery's planned grid exchange, with
        the plan's own battery power in the slot (``planned_kw``, see `battery_guard`)."""
        self.setpoint_kw = kw
        if self.kind == "battery":
            self._battery(now, kw, planned_kw)
            return
        self.actuator.command(now, w := self.target_w(now))
        self.follow.command(now, w)
        self._sent = (now, w)
        self._plan_check()

    def _battery(self, now: datetime, kw: float | None, planned_kw: float | None) -> None:
        """Aim at the planned grid exchange ``kw``: the battery takes up the difference between it
        and the grid meter, as far as `battery_guard` lets it; without a plan (or a grid reading),
        or when the plan aims at no exchange, the inverter's own self-consumption."""
        grid = self.grid_w() if self.grid_w is not None else None
        if kw is None or grid is None or abs(kw) <= OWN_CONTROL_KW:
            # a plan aiming at no exchange is what the inverter's own self-consumption does, on its
            # own meter within a second, where the box's loop through its meter lags a cycle
            self.actuator.command(now, None)
            self.follow.commanded = None
            return
        battery = (self.reading.p_w if self.reading is not None else None) or 0.0
        house = grid - battery  # the rest of the house's net import [W]
        w = battery_guard(kw * 1000.0 - house, house, planned_kw)
        w = max(-self.actuator.max_w, min(self.actuator.max_w, w))
        if self.follow.commanded is None or abs(self.follow.commanded[1] - w) > 50.0:  # not for every watt
            self.actuator.command(now, w)
            self.follow.command(now, w)

    def target_w(self, now: datetime) -> float:
        """The power to command now [W]: the set point, as a share of each quarter for a relay."""
        full = self.actuator.max_w
        w = full if self.setpoint_kw is None else max(0.0, min(self.setpoint_kw * 1000.0, full))
        if not self.relay or w <= 0 or w >= full - 1e-6:
            return w
        into = now.timestamp() % QUARTER_S
        return full if into < w / full * QUARTER_S - 1e-6 else 0.0

    def status(self, now: datetime) -> DeviceStatus:
        r = self.reading
        p = (r.p_w if r is not None and r.p_w is not None else 0.0) or 0.0
        running = bool(r.on) if r is not None and r.on is not None else p > 10.0
        need = self._need
        remaining = self.remaining_wh(need) / 1000.0 if need is not None and need.kind == "energy" else None
        soc = r.soc_kwh if r is not None else None
        return DeviceStatus(running, p, None, remaining, soc)

    def next_change(self, now: datetime) -> datetime | None:
        if self.relay and self.setpoint_kw is not None and 0 < self.setpoint_kw * 1000 < self.actuator.max_w:
            start = now.timestamp() - now.timestamp() % QUARTER_S
            share = self.setpoint_kw * 1000.0 / self.actuator.max_w * QUARTER_S
            off = datetime.fromtimestamp(start + share, now.tzinfo)
            return off if off > now else now + timedelta(seconds=QUARTER_S - now.timestamp() % QUARTER_S)
        return None


@dataclass(frozen=True)
class DailyNeed:
    """A need every day in each of ``windows``: ``energy_kwh`` between local minutes-of-day
    ``(start, end)`` (the next day's end when it is earlier), e.g. a water heater's 6 kWh between
    22:00 and 07:00, or after the morning showers and again after the evening ones."""

    appliance_id: str
    energy_kwh: float
    windows: tuple[tuple[int, int], ...]
    tz: str
    max_w: float
    min_w: float = 0.0

    def need(self, now: datetime) -> Need | None:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(self.tz)
        local = now.astimezone(zone)
        for back in (1, 0):
            day = local.date() - timedelta(days=back)
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
            for i, (a, b) in enumerate(self.windows):
                start = midnight + timedelta(minutes=a)
                end = midnight + timedelta(days=0 if b > a else 1, minutes=b)
                if start <= now < end:
                    key = f"{self.appliance_id}:{day.isoformat()}" + (f":{i + 1}" if i else "")
                    return Need(
                        self.appliance_id,
                        key,
                        "energy",
                        start,
                        end,
                        start,
                        energy_wh=self.energy_kwh * 1000.0,
                        min_w=self.min_w,
                        max_w=self.max_w,
                        interruptible=True,
                    )
        return None
