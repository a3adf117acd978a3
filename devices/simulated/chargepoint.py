"""A simulated OCPP charger (the `ocpp` package's ChargePoint over a real websocket), for tests,
the bench and the twin, speaking OCPP 1.6J (`chargepoint16`) or 2.0.1 (`chargepoint201`): it boots,
says a car is plugged in, holds charging profiles (or rejects them: ``mode="reject"``) and follows
them over time, starts a transaction when asked, and reports ``Power.Active.Import`` and the energy
register every ``meter_s``. The car draws the limit in force up to its own ``car_w`` (nothing below
6 A); behind it can be the twin's EV (``car``: `set_power(now, kw)` / `power_w(now)`), so the
twin's household sees the charging.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


class Profiles:
    """The charging profiles a simulated charger holds, and the limit they make at an instant [W]:
    of the profiles in force, the highest stack level's; an Absolute one from its startSchedule, a
    Relative one from its arrival; its last period started by then."""

    def __init__(self, volts_phases: float) -> None:
        self.volts_phases = volts_phases
        self.held: dict[int, tuple[int, datetime, list[tuple[int, float]]]] = {}

    def put(self, pid: int, stack: int, schedule: dict[str, Any], now: datetime) -> list[tuple[int, float]]:
        """Hold a profile (``schedule``: the chargingSchedule as the `ocpp` package hands it over)."""
        amps = schedule["charging_rate_unit"] == "A"
        periods = [
            (int(p["start_period"]), float(p["limit"]) * (self.volts_phases if amps else 1.0))
            for p in schedule["charging_schedule_period"]
        ]
        start = schedule.get("start_schedule")
        self.held[pid] = (stack, datetime.fromisoformat(start) if start else now, periods)
        return periods

    def clear(self, pid: int | None) -> bool:
        found = pid in self.held or (pid is None and bool(self.held))
        self.held = {} if pid is None else {k: v for k, v in self.held.items() if k != pid}
        return found

    def limit_w(self, t: datetime) -> float | None:
        for _stack, start, periods in sorted(self.held.values(), key=lambda h: -h[0]):
            into = (t - start).total_seconds()
            begun = [w for s, w in periods if s <= into]
            if begun:
                return begun[-1]
        return None


class Car:
    """What the charger and its car do, whatever OCPP they speak; ``st`` is what tests read:
    limit_w, p_w, energy_wh, profiles, started, booted, schedule (the last Absolute profile's
    start and its (startPeriod, W) periods)."""

    def __init__(
        self, car_w: float, mode: str, car: Any, clock: Any, st: dict[str, Any], car_kwh: float | None = None
    ) -> None:
        self.car_w, self.mode, self.car, self.clock, self.st = car_w, mode, car, clock, st
        self.car_kwh = car_kwh  #: the car's battery: the charger reports its SoC (None: it cannot)
        self.volts_phases = 230.0 * 3
        self.profiles = Profiles(self.volts_phases)
        self.plugged = car is None or car.need(clock()) is not None
        st.update(
            limit_w=None, p_w=0.0, energy_wh=0.0, profiles=0, started=False, booted=False, schedule=None
        )

    def take(self, pid: int, stack: int, kind: str, schedule: dict[str, Any]) -> bool:
        """A SetChargingProfile: held (True) or rejected."""
        self.st["profiles"] += 1
        if self.mode == "reject":
            return False
        periods = self.profiles.put(pid, stack, schedule, self.clock())
        if kind == "Absolute":
            self.st["schedule"] = (schedule["start_schedule"], periods)
        self.follow()
        return True

    def follow(self) -> None:
        st = self.st
        st["limit_w"] = self.profiles.limit_w(self.clock())
        limit = st["limit_w"] if st["limit_w"] is not None else self.car_w
        p = min(limit, self.car_w) if st["started"] else 0.0
        if p < 6 * self.volts_phases - 1:
            p = 0.0  # below 6 A the car pauses
        if self.car is not None:
            self.car.set_power(self.clock(), p / 1000.0)
            p = float(self.car.power_w(self.clock()))
        st["p_w"] = p

    def soc_pct(self) -> int | None:
        """The plugged-in car's state of charge as the charger reports it (whole %; None: not
        reported): full less what the twin's car still lacks."""
        if self.car_kwh is None or self.car is None or not self.plugged:
            return None
        lacks_kwh = float(self.car.remaining_wh()) / 1000.0
        return max(0, min(100, int(100.0 * (1.0 - lacks_kwh / self.car_kwh))))

    def sampled(self) -> list[tuple[str, float, str]]:
        """(measurand, value, unit) of a meter reading: power [W], register [Wh], SoC [%] if known."""
        out = [
            ("Power.Active.Import", round(self.st["p_w"]), "W"),
            ("Energy.Active.Import.Register", round(self.st["energy_wh"]), "Wh"),
        ]
        soc = self.soc_pct()
        if soc is not None:
            out.append(("SoC", soc, "Percent"))
        return out

    def came_or_left(self) -> bool:
        """Whether the twin's car came or left since the last look."""
        if self.car is None or (self.car.need(self.clock()) is not None) == self.plugged:
            return False
        self.plugged = not self.plugged
        self.st["started"] = self.st["started"] and self.plugged
        return True


async def run_charge_point(
    url: str,
    cp_id: str,
    password: str | None = None,
    *,
    version: str = "1.6",
    car_w: float = 11_000.0,
    mode: str = "ok",
    meter_s: float | None = 1.0,
    car: Any = None,
    now: Any = None,
    ssl_context: Any = None,
    state: dict[str, Any] | None = None,
    ready: Callable[[Meter], None] | None = None,
    car_kwh: float | None = None,
) -> None:
    """Connect to the central system at ``url`` and act as charger ``cp_id`` speaking OCPP
    ``version`` ("1.6" or "2.0.1") until cancelled; ``state`` (optional) is filled as `Car` says.
    It meters every ``meter_s`` real seconds, or (``meter_s=None``) whenever its `Meter`, handed to
    ``ready`` once it has booted, is stepped (a simulation whose clock jumps). With ``car_kwh`` (the
    twin car's battery) its meter values carry the car's state of charge."""
    from websockets.asyncio.client import connect
    from websockets.typing import Subprotocol

    if version == "2.0.1":
        from devices.simulated.chargepoint201 import station_class
    else:
        from devices.simulated.chargepoint16 import station_class
    clock = now or (lambda: datetime.now(UTC))
    sim = Car(car_w, mode, car, clock, state if state is not None else {}, car_kwh)
    headers = {}
    if password is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{cp_id}:{password}".encode()).decode()
    async with connect(
        f"{url.rstrip('/')}/{cp_id}",
        subprotocols=[Subprotocol(f"ocpp{version}")],
        additional_headers=headers,
        ssl=ssl_context,
        proxy=None,
    ) as ws:
        cp = station_class()(cp_id, ws, response_timeout=10)
        cp.sim = sim
        runner = asyncio.create_task(cp.start())
        try:
            await cp.boot()
            metering = Meter(cp, sim)
            if ready is not None:
                ready(metering)
            meter = asyncio.create_task(metering.every(meter_s)) if meter_s is not None else None
            try:
                await runner
            finally:
                if meter is not None:
                    meter.cancel()
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner


class Meter:
    """The charger's metering: the car come or gone, the limit followed, the energy register, and
    MeterValues sent — every ``meter_s`` (`every`) or when stepped (`step`)."""

    def __init__(self, cp: Any, sim: Car) -> None:
        self.cp, self.sim = cp, sim
        self.last = sim.clock()

    async def step(self) -> None:
        sim = self.sim
        t = sim.clock()
        # the power held since the last step, then what it is now
        sim.st["energy_wh"] += sim.st["p_w"] * max((t - self.last).total_seconds(), 0.0) / 3600.0
        self.last = t
        if sim.came_or_left():
            await self.cp.plugged(sim.plugged)
        sim.follow()
        await self.cp.send_meter()

    async def every(self, meter_s: float) -> None:
        while True:
            await asyncio.sleep(meter_s)
            await self.step()
