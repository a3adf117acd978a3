"""What the simulated household does and asks for, day by day: the same for every strategy.

Each local day's events come from ``Random(f"{seed}:{day}")``: the day's weather (temperature
offset, cloudiness), meals and kettles, showers, and what the household asks of its appliances —
the dishwasher loaded after dinner and wanted by the next morning, a wash wanted by the evening,
the EV plugged in on arrival and wanted charged by departure, the water heater refilling the tank
after the morning and the evening showers. These asks are `Need`s: the appliance turns one into a
request to the box (docs/control.md) and, with no box answering, starts by itself at the need's
``own_start`` (when the household would have started it).

A *staged* day (``Behaviour.staged``, the demo's first day) adds an evening that overloads a line
on purpose, so the box's answer (a warning and load shedding) can be seen: at 18:00 the EV is
plugged in with "charge now" pressed (a quick top-up at full power) while dinner is cooked with the
oven on, and at 18:01 the kettle boils and the toaster runs on the kitchen sockets — the same line
as the bathroom floor heating (L3 on a TN site): ~40 A on a 25 A main fuse.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from devices.appliances.device import Need

#: program power profiles: (minutes, watts) segments
DISHWASHER = ((20, 2000.0), (40, 90.0), (15, 1900.0), (25, 60.0))
WASHER = ((15, 2100.0), (55, 180.0), (10, 450.0), (5, 60.0))
EV_MAX_W = 6900.0  #: three-phase 10 A on 230 V phases
EV_MIN_W = 4140.0  #: three-phase 6 A: below this a charger pauses
TANK_LOSS_W = 60.0  #: the water heater's standing loss [W]
HEATER_W = 2000.0  #: the water heater's element [W]


@dataclass(frozen=True)
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
    ev_departure: int  #: the next morning's departure
    ev_need_wh: float
    showers: list[tuple[int, float]]  # (minute, kWh of hot water)
    kettles: list[int]
    forecast_error: float  #: the weather service's error on tomorrow's cloudiness [-]
    staged: bool = False  #: the staged overload evening (see the module docstring)


def plan_day(seed: int, day: date, staged: bool = False) -> DayPlan:
    r = random.Random(f"{seed}:{day.isoformat()}")
    weekend = day.weekday() >= 5
    winter = math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)  # 1 in January
    plan = DayPlan(
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
        ev_departure=r.randint(6 * 60 + 30, 7 * 60 + 45),
        ev_need_wh=1000.0 * r.uniform(6.0, 14.0) * (1.0 + 0.6 * max(winter, 0.0)),
        showers=[(r.randint(6 * 60, 7 * 60 + 50), r.uniform(1.2, 2.5)) for _ in range(2)]
        + [(r.randint(20 * 60, 22 * 60 + 20), r.uniform(0.8, 2.0))],
        kettles=[r.randint(6 * 60, 22 * 60) for _ in range(r.randint(2, 5))],
        forecast_error=r.gauss(0.0, 0.18),
    )
    if staged:  # the evening that overloads a line: see the module docstring
        plan = DayPlan(
            **{
                **plan.__dict__,
                "dinner": 17 * 60 + 50,
                "dinner_minutes": 50,
                "oven": True,
                "ev_arrival": 18 * 60,
                "kettles": [k for k in plan.kettles if not 17 * 60 <= k < 19 * 60] + [18 * 60 + 1],
                "staged": True,
            }
        )
    return plan


@dataclass
class Behaviour:
    """The household's days for one seed, in local time ``timezone``."""

    seed: int
    timezone: str = "Europe/Oslo"
    staged: date | None = None  #: the day with the staged overload evening (the demo's first)
    _tz: ZoneInfo = field(init=False)
    _plans: dict[date, DayPlan] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._tz = ZoneInfo(self.timezone)

    def plan(self, day: date) -> DayPlan:
        p = self._plans.get(day)
        if p is None:
            p = self._plans[day] = plan_day(self.seed, day, staged=day == self.staged)
            if len(self._plans) > 64:
                for old in sorted(self._plans)[:-32]:
                    del self._plans[old]
        return p

    def local(self, day: date, minute: float) -> datetime:
        """UTC instant of ``minute`` after local midnight of ``day`` (wall-clock minutes)."""
        whole = int(minute)
        wall = datetime.combine(day, time(whole // 60 % 24, whole % 60), self._tz)
        wall += timedelta(days=whole // 1440, seconds=round((minute - whole) * 60))
        return wall.astimezone(UTC)

    def day_of(self, t: datetime) -> date:
        return t.astimezone(self._tz).date()

    def needs(self, day: date) -> list[Need]:
        """Everything asked for on local ``day`` (by the time it is asked)."""
        p = self.plan(day)
        nxt = day + timedelta(days=1)
        out: list[Need] = []
        if p.dishwasher is not None:
            at = self.local(day, p.dishwasher)
            out.append(
                Need(
                    "dishwasher",
                    f"dishwasher:{day}",
                    "shiftable",
                    at,
                    self.local(nxt, 7 * 60),
                    at,
                    DISHWASHER,
                )
            )
        if p.washer is not None:
            at = self.local(day, p.washer)
            end = min(at + timedelta(hours=9), self.local(day, 23 * 60 + 30))
            out.append(Need("washer", f"washer:{day}", "shiftable", at, end, at, WASHER))
        if p.ev_arrival is not None:
            at = self.local(day, p.ev_arrival)
            end = self.local(nxt, self.plan(nxt).ev_departure)
            need, boost = p.ev_need_wh, False
            if p.staged:  # "charge now": a quick top-up before going out again
                end, need, boost = at + timedelta(hours=3), 9000.0, True
            out.append(
                Need("ev", f"ev:{day}", "energy", at, end, at, (), need, EV_MIN_W, EV_MAX_W, True, boost)
            )
        out += self._hot_water(day)
        return sorted(out, key=lambda n: n.at)

    def _hot_water(self, day: date) -> list[Need]:
        """The tank is refilled after the morning showers (by 17:00) and after the evening ones (by
        06:00): each time the hot water drawn since the last refill plus the standing losses until
        the deadline, so the tank is full at every deadline whatever the strategy."""
        p = self.plan(day)
        nxt = day + timedelta(days=1)
        refills = (  # (suffix, showers, ready by, the previous refill's deadline)
            (
                "am",
                [s for s in p.showers if s[0] < 12 * 60],
                self.local(day, 17 * 60),
                self.local(day, 6 * 60),
            ),
            (
                "pm",
                [s for s in p.showers if s[0] >= 12 * 60],
                self.local(nxt, 6 * 60),
                self.local(day, 17 * 60),
            ),
        )
        out = []
        for suffix, showers, end, before in refills:
            at = self.local(day, max(m for m, _ in showers) + 15)
            wh = 1000.0 * sum(kwh for _, kwh in showers) + TANK_LOSS_W * (end - before).total_seconds() / 3600
            key = f"water-heater:{day}:{suffix}"
            out.append(Need("water-heater", key, "energy", at, end, at, (), wh, 0.0, HEATER_W, True))
        return out

    def draws_wh(self, day: date) -> list[tuple[datetime, float]]:
        """Hot water drawn on ``day``: (start of a 10-minute shower, energy [Wh])."""
        return [(self.local(day, m), 1000.0 * kwh) for m, kwh in self.plan(day).showers]

    def cloud_forecast(self, day: date) -> float:
        """The weather service's cloudiness for ``day`` as issued the day before [0..1]."""
        p = self.plan(day)
        return min(1.0, max(0.0, p.cloudiness + p.forecast_error))
