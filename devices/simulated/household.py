"""The digital twin's household: what its ordinary circuits draw, every 10 s, deterministic for a seed.

A detached Norwegian house: base load (fridge, network, standby), lighting by season and hour, panel
heaters and floor heating driven by the outdoor temperature (a seasonal model with daily weather),
cooking peaks and kettles, and rooftop PV (clear sky from pvlib, dimmed by the day's cloudiness).
The smart appliances (dishwasher, washing machine, EV charger, water heater, home battery) are not
here: they are devices of their own (devices/simulated/appliances.py) that run when told or when the
household starts them. The day's events come from `devices.simulated.behaviour`.

A local day's base load is computed once, for every 10-s instant of the day (`DayBase`), so the
live twin and `hems evaluate` see exactly the same house.
"""

from __future__ import annotations

import math
import random
from array import array
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devices.simulated.behaviour import Behaviour, DayPlan

STEP_S = 10  #: resolution of the base load [s]
#: the circuits whose load is the household's own (not a controllable appliance)
BASE_CIRCUITS = (
    "lights",
    "living-sockets",
    "kitchen-sockets",
    "stove",
    "heaters-living",
    "heaters-bedrooms",
    "bathroom-floor",
    "fridge",
)


@dataclass(frozen=True)
class DayBase:
    """Every base circuit's power [W] at each 10-s instant of one local day."""

    start: datetime  #: UTC of local midnight
    steps: int  #: 8280, 8640 or 9000 (23, 24 or 25 hours)
    circuit_w: dict[str, array[float]]

    def index(self, t: datetime) -> int:
        return int((t - self.start).total_seconds() // STEP_S)


@dataclass
class Household:
    seed: int
    timezone: str
    behaviour: Behaviour | None = None
    _tz: ZoneInfo = field(init=False)
    _days: dict[date, DayBase] = field(default_factory=dict, init=False, repr=False)
    _agents: list[Any] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._tz = ZoneInfo(self.timezone)
        if self.behaviour is None:
            self.behaviour = Behaviour(self.seed, self.timezone)

    def plan(self, day: date) -> DayPlan:
        assert self.behaviour is not None
        return self.behaviour.plan(day)

    def outdoor_temp_c(self, t: datetime) -> float:
        local = t.astimezone(self._tz)
        return self._temp(local.date(), local.hour + local.minute / 60)

    def _temp(self, day: date, hour: float) -> float:
        doy = day.timetuple().tm_yday
        seasonal = 6.0 - 11.0 * math.cos(2 * math.pi * (doy - 20) / 365.25)
        daily = 3.0 * math.sin(2 * math.pi * (hour - 9.0) / 24.0)
        return seasonal + daily + self.plan(day).temp_offset_c

    # ----- base load ------------------------------------------------------------------------------
    def day_base(self, day: date) -> DayBase:
        """The base load of local ``day`` (computed once, a few days kept)."""
        got = self._days.get(day)
        if got is None:
            got = self._days[day] = self._compute(day)
            for old in sorted(self._days)[:-4]:
                del self._days[old]
        return got

    def base_w(self, t: datetime) -> dict[str, float]:
        """Power [W] of every base circuit at instant ``t``."""
        base = self.day_base(t.astimezone(self._tz).date())
        i = min(max(base.index(t), 0), base.steps - 1)
        return {c: values[i] for c, values in base.circuit_w.items()}

    def _compute(self, day: date) -> DayBase:
        start = datetime(day.year, day.month, day.day, tzinfo=self._tz).astimezone(UTC)
        following = day + timedelta(days=1)
        end = datetime(following.year, following.month, following.day, tzinfo=self._tz).astimezone(UTC)
        steps = int((end - start).total_seconds() // STEP_S)
        plan = self.plan(day)
        noise = random.Random(f"{self.seed}:{day.isoformat()}:noise")
        t0 = start.timestamp()
        dark = 1.0 - min(1.0, max(0.0, (15.0 - abs(day.month - 6.5) * 2.2) / 10.0))
        out = {c: array("d", bytes(8 * steps)) for c in BASE_CIRCUITS}
        lights, living, kitchen, stove = (
            out["lights"],
            out["living-sockets"],
            out["kitchen-sockets"],
            out["stove"],
        )
        h_living, h_bed, floor, fridge = (
            out["heaters-living"],
            out["heaters-bedrooms"],
            out["bathroom-floor"],
            out["fridge"],
        )
        kettles = [*plan.kettles, plan.breakfast]
        for i in range(steps):
            ts = t0 + i * STEP_S
            local = datetime.fromtimestamp(ts, self._tz)
            minute = local.hour * 60 + local.minute + local.second / 60
            phase = ts % 900.0  # 15-min thermostat cycle
            temp = self._temp(day, minute / 60)
            night = minute < 6 * 60 or minute >= 23 * 60
            setpoint = 17.0 if night else 21.0
            evening = 17 * 60 <= minute < 23 * 60
            morning = 6 * 60 + 30 <= minute < 8 * 60 + 30
            cooking = plan.dinner <= minute < plan.dinner + plan.dinner_minutes
            kettle = any(k <= minute < k + 3 for k in kettles)
            heat_need = max(0.0, setpoint - temp)
            lights[i] = 40.0 + (350.0 if evening else 150.0 if morning else 0.0) * (0.3 + 0.7 * dark)
            living[i] = 35.0 + (160.0 if evening else 0.0) + noise.uniform(0, 10)
            kitchen[i] = (
                15.0
                + (2000.0 if kettle else 0.0)
                + (900.0 if plan.breakfast <= minute < plan.breakfast + 6 else 0.0)
                + (2000.0 if plan.staged and 18 * 60 + 1 <= minute < 18 * 60 + 6 else 0.0)  # the toaster
            )
            stove[i] = (_duty(3600.0, 2200.0, phase, 0.0) if cooking else 0.0) + (
                2000.0 if cooking and plan.oven and minute < plan.dinner + 45 else 0.0
            )
            h_living[i] = _duty(2000.0, 55.0 * heat_need, phase, 0.0)
            h_bed[i] = _duty(1600.0, 38.0 * heat_need, phase, 300.0)
            floor[i] = _duty(1200.0, 250.0 + 25.0 * max(0.0, 20.0 - temp), phase, 600.0)
            fridge[i] = 60.0 + (120.0 if (ts % 2400.0) < 960.0 else 0.0) + noise.uniform(0, 15)
        return DayBase(start, steps, out)

    # ----- the whole house, its appliances on their own -------------------------------------------
    def advance(self, t: datetime) -> None:
        """Move the house's own appliances (no box: each starts when the household would) to ``t``;
        for callers that want the whole house without a twin (test databases, studies)."""
        for agent in self._own_appliances():
            agent.tick(t)

    def circuit_power_w(self, t: datetime) -> dict[str, float]:
        """Every circuit's power at ``t`` [W]: the base load and the appliances run on their own
        (call `advance(t)` first)."""
        out = self.base_w(t)
        for agent in self._own_appliances():
            device = agent.device
            out[device.circuit] = out.get(device.circuit, 0.0) + device.power_w(t)
        return out

    def _own_appliances(self) -> list[Any]:
        if self._agents is None:
            from devices.appliances.agent import ApplianceAgent
            from devices.simulated.twin import standard_appliances

            assert self.behaviour is not None
            self._agents = [
                ApplianceAgent(d, None, "house") for d in standard_appliances(self.behaviour, "TN")
            ]
        return self._agents

    # ----- PV -------------------------------------------------------------------------------------
    def cloud(self, t: datetime, cloudiness: float | None = None) -> float:
        """Cloudiness at ``t`` [0..1]: the day's, with passing clouds (a seeded wobble)."""
        local = t.astimezone(self._tz)
        midnight = datetime(local.year, local.month, local.day, tzinfo=self._tz)
        index = int((t - midnight.astimezone(UTC)).total_seconds() // 60)
        cloud = self.plan(local.date()).cloudiness if cloudiness is None else cloudiness
        r = random.Random(f"{self.seed}:{local.date()}:clouds")
        wobble = (
            sum(
                r.uniform(0.2, 1.0) * math.sin(2 * math.pi * index / r.uniform(20, 180) + r.uniform(0, 6.3))
                for _ in range(3)
            )
            / 3.0
        )
        return min(1.0, max(0.0, cloud + 0.25 * wobble * (1 - abs(2 * cloud - 1))))

    def pv_w(self, t: datetime, clear_sky_w: list[float]) -> float:
        """PV AC power [W] at ``t`` from the day's clear-sky profile (per local minute) and clouds."""
        local = t.astimezone(self._tz)
        midnight = datetime(local.year, local.month, local.day, tzinfo=self._tz)
        index = int((t - midnight.astimezone(UTC)).total_seconds() // 60)
        if not 0 <= index < len(clear_sky_w):
            return 0.0
        return clear_sky_w[index] * cloud_factor(self.cloud(t))


def cloud_factor(cloudiness: float) -> float:
    """Share of clear-sky PV power under ``cloudiness`` [0..1] (Kasten-like, 0.25 when overcast)."""
    return 1.0 - 0.75 * cloudiness**3.4


def _duty(rated_w: float, demand_w: float, phase: float, offset_s: float) -> float:
    """A thermostat cycling a ``rated_w`` element to deliver ``demand_w`` on a 15-min cycle."""
    frac = min(1.0, max(0.0, demand_w / rated_w))
    return rated_w if (phase + offset_s) % 900.0 < frac * 900.0 else 0.0
