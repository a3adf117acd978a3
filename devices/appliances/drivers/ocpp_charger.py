"""One OCPP charger as the box sees it, whatever OCPP version it speaks (`Wire`: ocpp16 / ocpp201).

`OcppCharger` is the charger's `Actuator`. The plan's whole schedule goes to the charger as one
charging profile (`plan_ahead`: TxDefaultProfile, id 1, stack level 1, Absolute from the plan's
first slot, one chargingSchedulePeriod per change of the plan's power, 0 from its end on), re-sent
when the plan changes; the charger then changes its limit at the slot boundaries by itself. A
commanded power that differs from the schedule's now (load shedding, a household's "stop", the box
silent so full power, no plan at all) goes at once as a second profile (id 2, stack level 2,
Relative, one period), which overrides the schedule while it stands and is cleared when the
commanded power is the schedule's again. Limits are in A per phase or in W (``unit``).

A plugged car with no transaction is started remotely when the charger accepts a limit above 0 now
or later. After an accepted profile, and when a session begins, the charger is asked for its
meter values at once. A rejected profile or a charger drawing more than its limit is a problem, and
`base.Follow` makes it a fault. `OcppSession` turns the connector's state into the household's
need: a car plugged in wants ``session_kwh`` by ``ready_by``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from devices.appliances.device import Need
from devices.appliances.drivers.base import Ahead, Reading

log = logging.getLogger(__name__)

#: a car plugged in (1.6's connector states; 2.0.1's connector status and charging states)
PLUGGED = {"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Occupied", "EVConnected"}
STARTABLE = ("Preparing", "SuspendedEVSE", "Occupied", "EVConnected")  #: plugged, no transaction yet
STALE_S = 300.0  #: no word from a charger for this long: its reading is dropped [s]
SCHEDULE, OVERRIDE = 1, 2  #: the profiles' ids (and stack levels)
SOC_MARGIN = 1.0  #: a session sized by the car's SoC asks for this share of its battery more [%]


class Wire(Protocol):
    """What a charger is told, in one OCPP version's messages (answers: the status's text)."""

    async def set_profile(
        self, pid: int, start: datetime | None, periods: list[tuple[int, float]], unit: str, phases: int
    ) -> str: ...

    async def clear_profile(self, pid: int) -> str: ...

    async def remote_start(self) -> str: ...

    async def remote_stop(self, transaction: str) -> None: ...

    async def trigger_meter(self) -> None: ...


class OcppCharger:
    """One charger's `Actuator` (see the module docstring)."""

    def __init__(
        self,
        appliance_id: str,
        cp_id: str,
        max_w: float,
        *,
        phases: int = 3,
        voltage_v: float = 230.0,
        unit: str = "A",
        connector: int = 1,
    ) -> None:
        self.id = appliance_id
        self.cp_id = cp_id
        self.max_w = max_w
        self.phases = phases
        self.voltage_v = voltage_v
        self.unit = unit
        self.connector = connector  #: the connector (1.6) / EVSE (2.0.1)
        self.wire: Wire | None = None  #: the connected charger's session, if any
        self.status: str | None = None  #: the connector's last status
        self.plugged_at: datetime | None = None
        self.transaction: str | None = None
        self.p_w: float | None = None
        self.energy_wh: float | None = None
        self.soc_pct: float | None = None  #: the plugged-in car's state of charge, if the charger says
        self.heard: datetime | None = None
        self.want_w: float | None = None
        self.plan: Ahead | None = None
        self.accepted: dict[int, Ahead | float] = {}  #: the profiles the charger holds
        self._tried: dict[int, Ahead | float | None] = {}
        self._cmd_at = datetime.now(UTC)
        self._problems: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._later = False  #: the charger did not answer: wait for the next command to try again
        self._closed = False

    def problem(self, text: str) -> None:
        log.warning("%s", text)
        self._problems.append(text)

    def problems(self) -> list[str]:
        out, self._problems = self._problems, []
        return out

    def connected(self, wire: Wire | None) -> None:
        """A (new) session, or none. A charger keeps its profiles across a reconnection, so the
        limit in force stays what it accepted; everything wanted is sent again all the same."""
        self.wire, self._tried, self._later = wire, {}, False
        if wire is not None:
            asyncio.get_running_loop().call_soon(self._kick)

    # the Actuator
    def command(self, now: datetime, w: float | None) -> None:
        self.want_w = self.max_w if w is None else max(0.0, min(w, self.max_w))
        self._cmd_at, self._later = now, False
        self._kick()

    def plan_ahead(self, plan: Ahead | None) -> None:
        self.plan, self._later = plan, False
        self._kick()

    @property
    def limit_w(self) -> float | None:
        """The limit the charger holds for the last command's instant [W] (None: none accepted)."""
        over = self.accepted.get(OVERRIDE)
        if isinstance(over, float):
            return over
        plan = self.accepted.get(SCHEDULE)
        return plan.at(self._cmd_at) if isinstance(plan, Ahead) else None

    def _wanted(self) -> dict[int, Ahead | float | None]:
        over = self.want_w
        planned = self.plan.at(self._cmd_at) if self.plan is not None else None
        if over is None or (planned is not None and abs(planned - over) < 1.0):
            over = None
        return {OVERRIDE: over, SCHEDULE: self.plan}

    def _kick(self) -> None:
        """Send what is wanted and not yet sent, on the loop, without waiting for the answer."""
        if (
            self.wire is None
            or self._closed
            or all(self._tried.get(k, None) == v for k, v in self._wanted().items())
        ):
            return
        if self._task is not None and not self._task.done():
            return  # it looks again when done
        self._task = asyncio.get_running_loop().create_task(self._sync())
        self._task.add_done_callback(lambda _t: None if self._later else self._kick())

    async def _sync(self) -> None:
        for pid, want in self._wanted().items():  # the override first: shedding does not wait
            if self.wire is None or self._tried.get(pid, None) == want:
                continue
            self._tried[pid] = want
            try:
                await self._put(self.wire, pid, want)
            except (TimeoutError, ConnectionError, OSError) as exc:
                self.problem(
                    f"{self.id}: charger {self.cp_id} did not take its limit: {exc or type(exc).__name__}"
                )
                self._tried.pop(pid, None)  # tried again at the next command or connection
                self._later = True
            except Exception as exc:  # a protocol error from the charger: reported, never raised
                self.problem(f"{self.id}: charger {self.cp_id}: {type(exc).__name__}: {exc}")

    async def _put(self, wire: Wire, pid: int, want: Ahead | float | None) -> None:
        if want is None:
            if pid in self.accepted:
                await wire.clear_profile(pid)
                self.accepted.pop(pid, None)
            return
        if isinstance(want, Ahead):
            periods = [(s, self._limit(w)) for s, w in want.periods()]
            what = f"a schedule of {len(periods)} periods"
            status = await wire.set_profile(pid, want.start, periods, self.unit, self.phases)
        else:
            what = f"a limit of {want:.0f} W"
            status = await wire.set_profile(pid, None, [(0, self._limit(want))], self.unit, self.phases)
        if status != "Accepted":
            self.problem(f"{self.id}: charger {self.cp_id} answered {status} to {what}")
            return
        self.accepted[pid] = want
        await wire.trigger_meter()
        later = isinstance(want, Ahead) and any(w > 0 for w in want.watts)
        idle = self.transaction is None and self.status in STARTABLE
        if idle and (later or (self.limit_w or 0.0) > 0) and await wire.remote_start() != "Accepted":
            self.problem(f"{self.id}: charger {self.cp_id} refused to start charging")

    def _limit(self, w: float) -> float:
        return round(w / (self.voltage_v * self.phases), 1) if self.unit == "A" else float(round(w))

    async def trigger_meter(self) -> None:
        """Ask for meter values at once, so the read-back does not wait for the charger's interval."""
        if self.wire is not None:
            with contextlib.suppress(Exception):  # a charger without TriggerMessage meters on its own
                await self.wire.trigger_meter()

    async def stop_charging(self) -> None:
        """Stop the running transaction (the household's "stop now")."""
        if self.wire is not None and self.transaction is not None:
            await self.wire.remote_stop(self.transaction)

    def poll(self, now: datetime) -> Reading | None:
        if self.heard is None or (now - self.heard).total_seconds() > STALE_S:
            return None
        # the limit in force decides whether it follows (the car may draw less); none accepted yet: nan,
        # which agrees with no command
        limit = self.limit_w if self.limit_w is not None else float("nan")
        return Reading(self.heard, None, self.p_w, self.energy_wh, limit)

    def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()

    # what the charge point said
    def on_status(self, now: datetime, status: str) -> None:
        if status in PLUGGED and self.plugged_at is None:
            self.plugged_at = now
        elif status not in PLUGGED:
            self.plugged_at, self.soc_pct = None, None
        self.status, self.heard = status, now

    def on_meter(self, now: datetime, meter_value: list[dict[str, Any]]) -> None:
        for mv in meter_value:
            for sv in mv.get("sampled_value", []):
                measurand = sv.get("measurand", "Energy.Active.Import.Register")
                uom = sv.get("unit_of_measure") or {}  # 2.0.1: {unit, multiplier}
                value = float(sv["value"]) * 10.0 ** int(uom.get("multiplier", 0))
                unit = sv.get("unit") or uom.get("unit", "")
                kilo = unit in ("kW", "kWh")
                if measurand == "Power.Active.Import" and sv.get("phase") is None:
                    self.p_w = value * (1000.0 if kilo else 1.0)
                elif measurand == "Energy.Active.Import.Register" and sv.get("phase") is None:
                    self.energy_wh = value * (1000.0 if kilo else 1.0)
                elif measurand == "SoC" and 0.0 <= value <= 100.0:
                    self.soc_pct = value
        self.heard = now


@dataclass
class OcppSession:
    """The need of a car on ``charger``: ``session_kwh`` from the plug-in to the next ``ready_by``.

    With ``car_kwh`` (the car's battery) and a charger that reports the car's state of charge, the
    session asks for what the car lacks at its first report instead (and `SOC_MARGIN` of the
    battery more, for the charger's whole-percent rounding; never more than ``session_kwh``): the
    box then plans the night around the car's real need, not the household's worst case."""

    charger: OcppCharger
    session_kwh: float
    ready_by_min: int  #: local minute of the day
    tz: str
    min_w: float
    car_kwh: float | None = None
    _sized: tuple[datetime, float] | None = None  #: (plug-in, kWh the car lacked at its first SoC)

    def need(self, now: datetime) -> Need | None:
        at = self.charger.plugged_at
        if at is None:
            return None
        local = at.astimezone(ZoneInfo(self.tz))
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        end = midnight + timedelta(minutes=self.ready_by_min)
        if end <= local + timedelta(hours=1):
            end += timedelta(days=1)
        if now >= end:
            return None  # past its departure: nothing more to plan until it is plugged in again
        c = self.charger
        kwh, key = self.session_kwh, f"{c.id}:{at.isoformat()}"
        if (
            self.car_kwh is not None
            and (self._sized is None or self._sized[0] != at)
            and c.soc_pct is not None
        ):
            lacks = (100.0 - c.soc_pct + SOC_MARGIN) / 100.0 * self.car_kwh
            self._sized = (at, min(max(lacks, 0.0), self.session_kwh))
        if self._sized is not None and self._sized[0] == at:
            kwh, key = self._sized[1], f"{key}:soc"  # a new need: the box is asked again
        return Need(
            c.id,
            key,
            "energy",
            at,
            end.astimezone(UTC),
            at,
            energy_wh=kwh * 1000.0,
            min_w=self.min_w,
            max_w=c.max_w,
            interruptible=True,
        )
