"""Overload rules evaluated on every snapshot, with hysteresis, producing alert transitions.

Rules (always on, with or without MQTT):
- ``breaker.main.<line>``: the main fuse, one thermal image per line, from the meter's line currents;
- ``breaker.circuit.<id>``: each metered circuit breaker, from the circuit meter's current;
- ``capacity``: this clock hour would push the month into a higher capacity step (if steps are set);
- ``contract``: import above the contracted power (Italian limiter), if ``contract_kw`` is set;
- ``device.<id>``: a device whose readings have been missing for ``device_lost_s``.

Each rule yields a raw `Condition` (level 0 ok, 1 warning, 2 critical) with how much load must go
(``shed_kw``) for shedding. `Hysteresis` turns raw levels into reported `Alert`s: a higher level is
reported at once, a lower one only when it has held for ``hold_s``; the rules themselves clear a
warning only beyond ``clear_factor`` × its threshold, so a value hovering at a limit never flaps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from hems.alerts.breaker import ThermalBreaker
from hems.alerts.capacity import CapacityTracker
from hems.alerts.config import AlertsConfig
from hems.alerts.contract import ContractLimiter
from hems.snapshot import Snapshot

LEVELS = ("cleared", "warning", "critical")


@dataclass(frozen=True, slots=True)
class Condition:
    """The raw state of one rule at one instant."""

    key: str  #: "breaker.main.L1", "breaker.circuit.kitchen", "capacity", "contract", "device.han"
    kind: str  #: "breaker" | "capacity" | "contract" | "device"
    level: int  #: 0 ok, 1 warning, 2 critical
    message: str
    data: dict[str, Any] = field(default_factory=dict)
    shed_kw: float = 0.0  #: load to remove to get back to safety [kW]
    circuit: str | None = None  #: shedding scope: loads on this circuit only (None: whole house)


@dataclass(frozen=True, slots=True)
class Alert:
    """A reported change of an alert: raised, escalated, lowered or cleared."""

    time: datetime
    key: str
    kind: str
    level: str  #: "warning" | "critical" | "cleared"
    message: str
    data: dict[str, Any]

    def to_payload(self) -> dict[str, Any]:
        """The JSON document published on ``hems/<site>/alert``."""
        return {
            "time": self.time.isoformat(),
            "key": self.key,
            "kind": self.kind,
            "level": self.level,
            "message": self.message,
            "data": self.data,
        }


def graded(seconds_left: float, prev: int, warn_s: float, alarm_s: float, clear_factor: float) -> int:
    """Level for a time-to-event [s] with margin hysteresis: stay at a level until beyond factor ×."""
    if seconds_left <= alarm_s or (prev >= 2 and seconds_left <= alarm_s * clear_factor):
        return 2
    if seconds_left <= warn_s or (prev >= 1 and seconds_left <= warn_s * clear_factor):
        return 1
    return 0


def _minutes(seconds: float) -> str:
    if math.isinf(seconds):
        return "never"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


class Hysteresis:
    """Reports level changes of conditions: up at once, down after ``hold_s`` at the lower level."""

    def __init__(self, hold_s: float) -> None:
        self.hold_s = hold_s
        self.active: dict[str, Condition] = {}  #: reported level ≥ 1
        self.raised_at: dict[str, datetime] = {}  #: when each active condition was last raised
        self._lower_since: dict[str, datetime] = {}

    def level(self, key: str) -> int:
        c = self.active.get(key)
        return c.level if c else 0

    def feed(self, time: datetime, conditions: Iterable[Condition]) -> list[Alert]:
        out: list[Alert] = []
        for c in conditions:
            out.extend(self._one(time, c))
        # a rule that did not report this time (its meter missing) keeps its level: unknown is not ok,
        # and the missing meter raises its own "device lost" alert
        return out

    def _one(self, time: datetime, c: Condition) -> list[Alert]:
        reported = self.level(c.key)
        if c.level > reported:
            self._lower_since.pop(c.key, None)
            self.active[c.key] = c
            self.raised_at[c.key] = time
            return [Alert(time, c.key, c.kind, LEVELS[c.level], c.message, c.data)]
        if c.level == reported:
            self._lower_since.pop(c.key, None)
            if c.level:
                self.active[c.key] = c  # fresh numbers (shed_kw) without a new report
            return []
        since = self._lower_since.setdefault(c.key, time)
        if (time - since).total_seconds() < self.hold_s:
            self.active[c.key] = replace(c, level=reported)  # fresh numbers, the reported level
            return []
        self._lower_since.pop(c.key, None)
        if c.level:
            self.active[c.key] = c
        else:
            self.active.pop(c.key, None)
            self.raised_at.pop(c.key, None)
        return [Alert(time, c.key, c.kind, LEVELS[c.level], c.message, c.data)]


@dataclass(frozen=True, slots=True)
class BreakerSpec:
    """One breaker to watch."""

    key: str
    rating_a: float  #: In [A]
    curve: str  #: "B" | "C" | "D" | "gG"
    voltage_v: float  #: voltage that turns amperes on it into watts [V]
    circuit: str | None = None  #: circuit id (None: the main fuse)


class AlertEngine:
    """All overload rules of a site. `evaluate(snapshot)` returns the alert transitions."""

    def __init__(
        self,
        config: AlertsConfig,
        main_fuse_a: float,
        main_fuse_curve: str,
        lines: Iterable[str],
        voltage_v: float,
        circuits: Iterable[BreakerSpec] = (),
        timezone: str = "Europe/Oslo",
    ) -> None:
        self.config = config
        self.lines = list(lines)
        self.main = {line: ThermalBreaker(main_fuse_a, main_fuse_curve) for line in self.lines}
        self.main_spec = BreakerSpec("breaker.main", main_fuse_a, main_fuse_curve, voltage_v)
        self.circuits = {spec.circuit or spec.key: spec for spec in circuits}
        self.circuit_models = {cid: ThermalBreaker(s.rating_a, s.curve) for cid, s in self.circuits.items()}
        self.capacity: CapacityTracker | None = None
        if config.capacity_step_upper_kw is not None and config.capacity_step_price is not None:
            bounds, prices = config.capacity_step_upper_kw, config.capacity_step_price
            self.capacity = CapacityTracker(bounds, prices, timezone)
        self.contract: ContractLimiter | None = None
        if config.contract_kw is not None:
            self.contract = ContractLimiter(
                config.contract_kw,
                config.contract_available_factor,
                config.contract_fast_factor,
                config.contract_fast_s,
                config.contract_slow_s,
            )
        self.hysteresis = Hysteresis(config.hold_s)
        self._last: datetime | None = None
        self._missing_since: dict[str, datetime] = {}

    @property
    def active(self) -> dict[str, Condition]:
        """Conditions reported as warning or critical now (key → the latest numbers)."""
        return dict(self.hysteresis.active)

    def evaluate(self, snapshot: Snapshot) -> list[Alert]:
        now = snapshot.time
        dt = 0.0 if self._last is None else max((now - self._last).total_seconds(), 0.0)
        self._last = now
        conditions: list[Condition] = []
        grid = snapshot.grid
        if grid is not None:
            for line, model in self.main.items():
                current = grid.current(line)
                if current is not None:
                    model.update(current, dt)
                    conditions.append(self._breaker(f"breaker.main.{line}", model, self.main_spec))
            p = grid.p_import_w
            if p is not None:
                if self.capacity is not None:
                    self.capacity.add(now, p)
                    conditions.extend(self._capacity(now))
                if self.contract is not None:
                    self.contract.add(now, p)
                    conditions.append(self._contract(now))
        for cid, spec in self.circuits.items():
            reading = snapshot.circuits.get(cid)
            if reading is not None and reading.i_a is not None:
                model = self.circuit_models[cid]
                model.update(reading.i_a, dt)
                conditions.append(self._breaker(spec.key, model, spec))
        conditions.extend(self._devices(snapshot))
        return self.hysteresis.feed(now, conditions)

    def _breaker(self, key: str, model: ThermalBreaker, spec: BreakerSpec) -> Condition:
        c = self.config
        est = model.estimate()
        prev = self.hysteresis.level(key)
        level = graded(est.seconds, prev, c.warn_minutes * 60, c.alarm_minutes * 60, c.clear_factor)
        if est.instant != "no":
            level = 2
        name = f"circuit {spec.circuit}" if spec.circuit else f"main fuse {key.rsplit('.', 1)[-1]}"
        current_a = est.ratio * model.rating_a
        if est.instant != "no":
            limit = f"{spec.curve} {model.rating_a:g} A"
            msg = f"{name}: {current_a:.0f} A is at the instantaneous trip limit of a {limit}"
        elif level:
            msg = f"{name}: {current_a:.1f} A on {model.rating_a:g} A, may trip in {_minutes(est.seconds)}"
        else:
            msg = f"{name}: {current_a:.1f} A on {model.rating_a:g} A, safe"
        # back to 95 % of the rating lets the thermal image cool down
        shed_kw = max(current_a - 0.95 * model.rating_a, 0.0) * spec.voltage_v / 1000.0 if level else 0.0
        data = {
            "current_a": round(current_a, 2),
            "rating_a": model.rating_a,
            "curve": spec.curve,
            "heat": round(est.heat, 4),
            "seconds_to_trip": None if math.isinf(est.seconds) else round(est.seconds, 1),
            "instantaneous": est.instant,
            "shed_kw": round(shed_kw, 3),
        }
        return Condition(key, "breaker", level, msg, data, shed_kw, spec.circuit)

    def _capacity(self, now: datetime) -> list[Condition]:
        assert self.capacity is not None
        proj = self.capacity.projection(now)
        if proj is None:
            return []
        elapsed = 3600.0 - proj.remaining_s
        prev = self.hysteresis.level("capacity")
        margin = self.config.capacity_margin_kwh
        if prev == 0:  # enter: projection within margin of the step, once the hour has some history
            early = elapsed < self.config.capacity_min_elapsed_s and not proj.crosses
            over = proj.projected_kwh > proj.limit_kwh - margin and not early
        else:  # stay until clearly below
            over = proj.projected_kwh > proj.limit_kwh - 3 * margin
        level = 0
        if over:
            level = 2 if proj.energy_so_far_kwh > proj.limit_kwh - margin else 1
        bounds, prices = self.capacity.bounds, self.capacity.prices
        step_kw = bounds[proj.step_now] if proj.step_now < len(bounds) else math.inf
        if proj.crosses:
            extra = proj.extra_cost
        else:
            extra = prices[min(proj.step_now + 1, len(bounds))] - prices[proj.step_now]
        msg = (
            f"this hour is heading for {proj.projected_kwh:.2f} kWh; above {proj.limit_kwh:.2f} kWh the "
            f"month's capacity step goes over {step_kw:g} kW, costing {extra:.0f} more per month"
            if level
            else f"this hour is heading for {proj.projected_kwh:.2f} kWh, within the step"
        )
        shed_kw = max(-proj.headroom_kw + self.capacity.recent_kw(), 0.0) if level else 0.0
        data = {
            "hour_start": proj.hour_start.isoformat(),
            "energy_so_far_kwh": round(proj.energy_so_far_kwh, 3),
            "projected_kwh": round(proj.projected_kwh, 3),
            "limit_kwh": round(proj.limit_kwh, 3),
            "month_mean_kw": round(proj.month_mean_kw, 3),
            "step_upper_kw": step_kw if not math.isinf(step_kw) else None,
            "extra_cost_per_month": extra,
            "headroom_kw": round(proj.headroom_kw, 3),
            "shed_kw": round(shed_kw, 3),
        }
        return [Condition("capacity", "capacity", level, msg, data, shed_kw)]

    def _contract(self, now: datetime) -> Condition:
        assert self.contract is not None
        c = self.config
        st = self.contract.state(now)
        prev = self.hysteresis.level("contract")
        level = graded(st.seconds_left, prev, c.warn_minutes * 60, c.alarm_minutes * 60, c.clear_factor)
        if st.band == "fast":
            level = 2
        elif st.band == "tolerance":
            level = max(level, 1)
        target_kw = self.contract.available_kw
        shed_kw = max(st.p_kw - 0.98 * target_kw, 0.0) if level else 0.0
        msg = (
            f"import {st.p_kw:.2f} kW over the contracted {st.contract_kw:g} kW: the meter disconnects in "
            f"{_minutes(st.seconds_left)}"
            if level
            else f"import {st.p_kw:.2f} kW within the contracted {st.contract_kw:g} kW"
        )
        data = {
            "p_kw": round(st.p_kw, 3),
            "contract_kw": st.contract_kw,
            "band": st.band,
            "seconds_left": None if math.isinf(st.seconds_left) else round(st.seconds_left, 1),
            "tolerance_used_s": round(st.tolerance_used_s, 1),
            "shed_kw": round(shed_kw, 3),
        }
        return Condition("contract", "contract", level, msg, data, shed_kw)

    def _devices(self, snapshot: Snapshot) -> list[Condition]:
        out = []
        reported = {k.removeprefix("device.") for k in self.hysteresis.active if k.startswith("device.")}
        for device in set(self._missing_since) | set(snapshot.errors) | reported:
            key = f"device.{device}"
            if device in snapshot.errors:
                since = self._missing_since.setdefault(device, snapshot.time)
                lost = (snapshot.time - since).total_seconds() >= self.config.device_lost_s
                reason = snapshot.errors[device]
                msg = f"device {device} lost: {reason}" if lost else f"device {device}: {reason}"
                out.append(Condition(key, "device", 1 if lost else 0, msg, {"reason": reason}))
            else:
                self._missing_since.pop(device, None)
                out.append(Condition(key, "device", 0, f"device {device} is back"))
        return out
