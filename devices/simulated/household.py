"""The digital twin's household: what every circuit draws, second by second, deterministic for a seed.

A detached Norwegian house: base load (fridge, network, standby), lighting by season and hour, panel
heaters and floor heating driven by the outdoor temperature (a seasonal model with daily weather),
a 200-litre water heater with morning and evening draws, cooking peaks, dishwasher and washing-machine
programs, an EV that arrives in the afternoon and charges at 6.9 kW (3 × 10 A), and rooftop PV (clear sky from
pvlib, dimmed by the day's cloudiness). Each day's events are drawn from ``Random(f"{seed}:{day}")``,
so the same seed gives the same household.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

# program power profiles: (minutes, watts) segments
DISHWASHER = ((20, 2000.0), (40, 90.0), (15, 1900.0), (25, 60.0))
EV_MAX_W = 6900.0  #: three-phase 10 A on 230 V phases
WASHER = ((15, 2100.0), (55, 180.0), (10, 450.0), (5, 60.0))


@dataclass
class DayPlan:
    """The events of one local day (times in minutes after local midnight)."""

    temp_offset_c: float
    cloudiness: float  # 0 clear .. 1 overcast
    breakfast: int
    dinner: int
    dinner_minutes: int
    oven: bool
    dishwasher: int | None
    washer: int | None
    ev_arrival: int | None
    ev_need_wh: float
    showers: list[tuple[int, float]]  # (minute, kWh of hot water)
    kettles: list[int]


def _plan_day(seed: int, day: date) -> DayPlan:
    r = random.Random(f"{seed}:{day.isoformat()}")
    weekend = day.weekday() >= 5
    winter = math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)  # 1 in January
    return DayPlan(
        temp_offset_c=r.gauss(0.0, 3.0),
        cloudiness=min(1.0, max(0.0, r.betavariate(1.4, 1.1))),
        breakfast=r.randint(6 * 60 + 15, 7 * 60 + 30) + (90 if weekend else 0),
        dinner=r.randint(16 * 60 + 30, 18 * 60 + 15),
        dinner_minutes=r.randint(25, 70),
        oven=r.random() < 0.35,
        dishwasher=r.randint(19 * 60, 22 * 60 + 30) if r.random() < 0.7 else None,
        washer=r.randint(9 * 60, 20 * 60) if r.random() < (0.6 if weekend else 0.35) else None,
        ev_arrival=(r.randint(16 * 60, 18 * 60 + 30) if not weekend else r.randint(11 * 60, 17 * 60))
        if r.random() < (0.85 if not weekend else 0.5)
        else None,
        ev_need_wh=1000.0 * r.uniform(6.0, 14.0) * (1.0 + 0.6 * max(winter, 0.0)),
        showers=[(r.randint(6 * 60, 8 * 60), r.uniform(1.2, 2.5)) for _ in range(2)]
        + [(r.randint(20 * 60, 22 * 60 + 30), r.uniform(0.8, 2.0))],
        kettles=[r.randint(6 * 60, 22 * 60) for _ in range(r.randint(2, 5))],
    )


def _program_w(profile: tuple[tuple[int, float], ...], minutes_since_start: float) -> float:
    if minutes_since_start < 0:
        return 0.0
    elapsed = 0.0
    for minutes, watts in profile:
        elapsed += minutes
        if minutes_since_start < elapsed:
            return watts
    return 0.0


@dataclass
class Household:
    seed: int
    timezone: str
    tank_capacity_kwh: float = 11.0  #: 200 l from 15 to 65 °C
    _tz: ZoneInfo = field(init=False)
    _plans: dict[date, DayPlan] = field(default_factory=dict, init=False)
    _tank_kwh: float = field(default=9.0, init=False)
    _heater_on: bool = field(default=False, init=False)
    _ev_done: dict[date, float] = field(default_factory=dict, init=False)  # Wh delivered per day
    _last: datetime | None = field(default=None, init=False)
    ev_limit_w: float | None = None  #: set by control (load shedding / schedules); None = no limit

    def __post_init__(self) -> None:
        self._tz = ZoneInfo(self.timezone)

    # ----- calendar -------------------------------------------------------------------------------
    def plan(self, day: date) -> DayPlan:
        p = self._plans.get(day)
        if p is None:
            p = self._plans[day] = _plan_day(self.seed, day)
            for old in sorted(self._plans)[:-3]:
                del self._plans[old]
        return p

    def outdoor_temp_c(self, t: datetime) -> float:
        local = t.astimezone(self._tz)
        doy = local.timetuple().tm_yday
        seasonal = 6.0 - 11.0 * math.cos(2 * math.pi * (doy - 20) / 365.25)
        hour = local.hour + local.minute / 60
        daily = 3.0 * math.sin(2 * math.pi * (hour - 9.0) / 24.0)
        return seasonal + daily + self.plan(local.date()).temp_offset_c

    # ----- state ----------------------------------------------------------------------------------
    def advance(self, t: datetime) -> None:
        """Integrate the stored-energy state (water tank, EV) up to ``t``."""
        if self._last is None or t <= self._last:
            self._last = t if self._last is None else self._last
            return
        step = timedelta(seconds=10)
        cursor = max(self._last, t - timedelta(hours=2))  # a long gap (resume): settle, don't replay
        while cursor < t:
            dt = min(step, t - cursor)
            self._integrate(cursor, dt.total_seconds())
            cursor += dt
        self._last = t

    def _integrate(self, t: datetime, dt_s: float) -> None:
        local = t.astimezone(self._tz)
        minute = local.hour * 60 + local.minute + local.second / 60
        plan = self.plan(local.date())
        draw_kwh = 0.0
        for at, kwh in plan.showers:
            if at <= minute < at + 10:
                draw_kwh += kwh * dt_s / 600.0
        if plan.dishwasher is not None and 0 <= minute - plan.dishwasher < 20:
            draw_kwh += 0.6 * dt_s / 1200.0
        loss_kwh = 0.06 * dt_s / 3600.0
        if self._tank_kwh < 0.85 * self.tank_capacity_kwh:
            self._heater_on = True
        elif self._tank_kwh >= self.tank_capacity_kwh:
            self._heater_on = False
        gain = 2.0 * dt_s / 3600.0 if self._heater_on else 0.0
        self._tank_kwh = min(self.tank_capacity_kwh, max(0.0, self._tank_kwh + gain - loss_kwh - draw_kwh))
        ev_w = self._ev_power(local.date(), minute)
        if ev_w:
            self._ev_done[local.date()] = self._ev_done.get(local.date(), 0.0) + ev_w * dt_s / 3600.0

    def _ev_power(self, day: date, minute: float) -> float:
        plan = self.plan(day)
        if plan.ev_arrival is None or minute < plan.ev_arrival:
            return 0.0
        if self._ev_done.get(day, 0.0) >= plan.ev_need_wh:
            return 0.0
        limit = EV_MAX_W if self.ev_limit_w is None else max(0.0, min(EV_MAX_W, self.ev_limit_w))
        return limit if limit >= 4_140.0 else 0.0  # below 6 A per phase a charger pauses

    # ----- power ----------------------------------------------------------------------------------
    def circuit_power_w(self, t: datetime) -> dict[str, float]:
        """Active power [W] of every circuit at ``t`` (call `advance(t)` first)."""
        local = t.astimezone(self._tz)
        minute = local.hour * 60 + local.minute + local.second / 60
        day = local.date()
        plan = self.plan(day)
        temp = self.outdoor_temp_c(t)
        noise = random.Random(f"{self.seed}:{int(t.timestamp()) // 10}")
        phase = t.timestamp() % 900.0  # 15-min thermostat cycle

        def duty(rated_w: float, demand_w: float, offset_s: float) -> float:
            frac = min(1.0, max(0.0, demand_w / rated_w))
            return rated_w if (phase + offset_s) % 900.0 < frac * 900.0 else 0.0

        night = minute < 6 * 60 or minute >= 23 * 60
        setpoint = 17.0 if night else 21.0
        evening = 17 * 60 <= minute < 23 * 60
        morning = 6 * 60 + 30 <= minute < 8 * 60 + 30
        dark = 1.0 - min(1.0, max(0.0, (15.0 - abs(local.month - 6.5) * 2.2) / 10.0))
        cooking = plan.dinner <= minute < plan.dinner + plan.dinner_minutes
        fridge = 60.0 + (120.0 if (t.timestamp() % 2400.0) < 960.0 else 0.0)
        kettle = any(k <= minute < k + 3 for k in plan.kettles) or (
            plan.breakfast <= minute < plan.breakfast + 3
        )
        heat_need = max(0.0, setpoint - temp)
        return {
            "lights": 40.0 + (350.0 if evening else 150.0 if morning else 0.0) * (0.3 + 0.7 * dark),
            "living-sockets": 35.0 + (160.0 if evening else 0.0) + noise.uniform(0, 10),
            "kitchen-sockets": 15.0
            + (2000.0 if kettle else 0.0)
            + (900.0 if plan.breakfast <= minute < plan.breakfast + 6 else 0.0),
            "stove": (duty(3600.0, 2200.0, 0) if cooking else 0.0)
            + (2000.0 if cooking and plan.oven and minute < plan.dinner + 45 else 0.0),
            "dishwasher": _program_w(DISHWASHER, minute - plan.dishwasher)
            if plan.dishwasher is not None
            else 1.0,
            "washer": _program_w(WASHER, minute - plan.washer) if plan.washer is not None else 1.0,
            "water-heater": 2000.0 if self._heater_on else 0.0,
            "heaters-living": duty(2000.0, 55.0 * heat_need, 0.0),
            "heaters-bedrooms": duty(1600.0, 38.0 * heat_need, 300.0),
            "bathroom-floor": duty(1200.0, 250.0 + 25.0 * max(0.0, 20.0 - temp), 600.0),
            "fridge": fridge + noise.uniform(0, 15),
            "ev-charger": self._ev_power(day, minute),
        }

    def pv_w(self, t: datetime, clear_sky_w: list[float]) -> float:
        """PV AC power [W] at ``t`` from the day's clear-sky profile (per local minute) and clouds."""
        local = t.astimezone(self._tz)
        midnight = datetime(local.year, local.month, local.day, tzinfo=self._tz)
        index = int((t - midnight.astimezone(UTC)).total_seconds() // 60)
        if not 0 <= index < len(clear_sky_w):
            return 0.0
        cloud = self.plan(local.date()).cloudiness
        # passing clouds: a smooth, seeded variation within the day
        r = random.Random(f"{self.seed}:{local.date()}:clouds")
        wobble = (
            sum(
                r.uniform(0.2, 1.0) * math.sin(2 * math.pi * index / r.uniform(20, 180) + r.uniform(0, 6.3))
                for _ in range(3)
            )
            / 3.0
        )
        c = min(1.0, max(0.0, cloud + 0.25 * wobble * (1 - abs(2 * cloud - 1))))
        return clear_sky_w[index] * (1.0 - 0.75 * c**3.4)
