"""A validated scenario resolved into numbers: slot times, windows as slot indices, clock hours and
calendar days of the site, line-current coefficients. Pure computation, no pyomo.

Everything the model builder, the extractor and the explanation need is computed here once, so
those stay short and agree with each other.
"""

from __future__ import annotations

import math
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

import numpy as np

from optimiser.scenario import EnergySpec, ScenarioSpec, ShiftableSpec, ThermalSpec, normalise_line

#: Price of relaxing a rule, per unit of violation (far above any energy or capacity price).
#: fuse [currency per A·h], energy [per kWh], min_kwh [per kWh·h], window [per h], final SOC [per kWh].
RELAX_PRICE = 10_000.0

SQRT3 = math.sqrt(3.0)


@dataclass(frozen=True)
class Shiftable:
    """An uninterruptible program: one binary per candidate start."""

    id: str
    profile_kw: tuple[float, ...]  #: power per slot after the start [kW]
    line: str
    first: int  #: first allowed start slot (window rounded up)
    end: int  #: slot by which the program must have finished (window rounded down, cut)
    starts: tuple[int, ...]  #: candidate start slots (outside the window only when relaxed)
    outside_h: tuple[float, ...]  #: per candidate: hours outside the window [h]
    fixed_start: int | None  #: running program: its start slot (may be < 0: before the horizon)
    published_start: int | None  #: start slot of the previously published plan

    def power_at(self, start: int, t: int) -> float:
        """Power of the program in slot t when started at slot `start` [kW]."""
        k = t - start
        return self.profile_kw[k] if 0 <= k < len(self.profile_kw) else 0.0


@dataclass(frozen=True)
class Energy:
    """An interruptible energy need (EV charger, pool pump)."""

    id: str
    energy_kwh: float
    min_kw: float
    max_kw: float
    first: int
    end: int
    line: str


@dataclass(frozen=True)
class Thermal:
    """An on/off element feeding a stored-energy tank (water heater)."""

    id: str
    power_kw: float
    capacity_kwh: float
    initial_kwh: float
    min_kwh: float
    loss_kw: float
    draw_kwh: np.ndarray
    line: str


def heating_count_bounds(th: Thermal, h: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Bounds on the number of heating slots up to and including each slot, or None if no on/off
    schedule keeps the tank within [min_kwh, capacity_kwh] (then the rule must be relaxed).

    stored[t] = initial + power·h·count[t] − demand[t] with demand the cumulated loss and draw, so
    min <= stored <= capacity is ceil(...) <= count[t] <= floor(...). Propagated forwards (count
    grows by 0 or 1 per slot) and backwards, these integer bounds make the tank's constraints an
    interval matrix with integral right-hand sides: its LP relaxation is integral (no fractional
    heating in the relaxation) and the binaries cost the branch-and-bound nothing.
    """
    step = th.power_kw * h
    demand = np.cumsum(th.loss_kw * h + th.draw_kwh)
    lo = np.ceil((th.min_kwh - th.initial_kwh + demand) / step - 1e-9)
    hi = np.floor((th.capacity_kwh - th.initial_kwh + demand) / step + 1e-9)
    n = len(demand)
    lo = np.maximum(lo, 0.0)
    hi = np.minimum(hi, np.arange(1, n + 1, dtype=float))
    for t in range(1, n):  # forwards: count[t] in [count[t-1], count[t-1] + 1]
        lo[t] = max(lo[t], lo[t - 1])
        hi[t] = min(hi[t], hi[t - 1] + 1)
    for t in range(n - 2, -1, -1):  # backwards
        lo[t] = max(lo[t], lo[t + 1] - 1)
        hi[t] = min(hi[t], hi[t + 1])
    if np.any(lo > hi) or hi[0] > 1 or lo[0] < 0:
        return None
    return lo, hi


@dataclass(frozen=True)
class Battery:
    capacity_kwh: float
    max_charge_kw: float
    max_discharge_kw: float
    efficiency: float
    initial_kwh: float
    final_min_kwh: float
    line: str


@dataclass(frozen=True)
class Month:
    """Calendar days of one month inside the horizon, with the peaks already recorded."""

    days: tuple[date, ...]
    hours: tuple[tuple[tuple[int, ...], ...], ...]  #: per day: slot indices of each clock hour
    recorded_kw: tuple[float, ...]  #: top three recorded daily peaks of the month [kW]
    first_day_floor_kw: float  #: today's peak before the horizon (first month only) [kW]

    @cached_property
    def hour_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every clock hour's slots flattened, each hour's offset and length, each day's first hour
        (for whole-array hourly means). A day of the month has at least one hour inside the horizon
        (days are found from the slots)."""
        assert self.hours and all(self.hours), "a month of days, each with an hour"
        hours = [hr for day in self.hours for hr in day]
        lengths = np.array([len(hr) for hr in hours], dtype=float)
        offsets = np.concatenate(([0], np.cumsum(lengths[:-1]))).astype(np.intp)
        firsts = np.concatenate(([0], np.cumsum([len(day) for day in self.hours])[:-1])).astype(np.intp)
        flat = np.array([t for hr in hours for t in hr], dtype=np.intp)
        return flat, offsets, lengths, firsts


@dataclass(frozen=True)
class Capacity:
    step_upper_kw: tuple[float, ...]
    step_price: tuple[float, ...]
    months: tuple[Month, ...]
    peak_repeats: int = 1  #: each planned day's peak counts this many times (scenario-format.md)

    def step_index(self, mean_kw: float) -> int:
        """Index of the first step whose upper bound is >= mean_kw (the last step is open)."""
        for j, upper in enumerate(self.step_upper_kw):
            if mean_kw <= upper + 1e-9:
                return j
        return len(self.step_upper_kw)

    def base_price(self, month: Month) -> float:
        """Step price of the recorded peaks alone [currency/month]."""
        return self.step_price[self.step_index(top3_mean(month.recorded_kw))]


def top3_mean(values: tuple[float, ...] | list[float]) -> float:
    """Mean of the three largest values, padded with zeros to three [kW]."""
    top = sorted(values, reverse=True)[:3]
    return sum(top) / 3.0


@dataclass(frozen=True)
class Problem:
    """One planning problem in slot indices and SI-ish units."""

    n: int  #: number of slots
    h: float  #: slot length [h]
    times: tuple[datetime, ...]  #: start of each slot, in the site's time zone
    network: str
    voltage_v: float
    fuse_a: float | None
    import_price: np.ndarray  #: [currency/kWh]
    export_price: np.ndarray  #: [currency/kWh]
    base_kw: np.ndarray
    pv_kw: np.ndarray
    shiftables: tuple[Shiftable, ...]
    energies: tuple[Energy, ...]
    thermals: tuple[Thermal, ...]
    battery: Battery | None
    capacity: Capacity | None
    move_penalty: float
    lines: tuple[str, ...] = field(default=())

    def line_coef(self, line: str) -> dict[str, float]:
        """Current drawn on each line per kW of an element on `line` [A/kW] (contract rules)."""
        v = self.voltage_v
        if self.network == "1P":
            return {"L1": 1000.0 / v}
        if line == "3P":
            per = 1000.0 / (3.0 * v) if self.network == "TN" else 1000.0 / (SQRT3 * v)
            return {name: per for name in ("L1", "L2", "L3")}
        if self.network == "TN":
            return {line: 1000.0 / v}
        return {line[:2]: 1000.0 / v, line[2:]: 1000.0 / v}

    def time_of(self, slot: int) -> datetime:
        """Start instant of slot `slot` (may be outside the horizon), in the site's time zone."""
        first = self.times[0]
        return (first.astimezone(UTC) + timedelta(hours=self.h * slot)).astimezone(first.tzinfo)

    def fixed_kw(self) -> np.ndarray:
        """Consumption no decision changes: running programs [kW] (base and PV are separate)."""
        out = np.zeros(self.n)
        for app in self.shiftables:
            if app.fixed_start is not None:
                for t in range(self.n):
                    out[t] += app.power_at(app.fixed_start, t)
        return out


def _slot_index(spec_start: datetime, when: datetime, minutes: int, round_up: bool) -> int:
    seconds = (when - spec_start).total_seconds() / (60.0 * minutes)
    return math.ceil(seconds - 1e-9) if round_up else math.floor(seconds + 1e-9)


def _shiftable(app: ShiftableSpec, spec: ScenarioSpec, n: int, h: float) -> Shiftable:
    start, minutes = spec.horizon.start, spec.horizon.slot_minutes
    first = min(max(_slot_index(start, app.earliest_start, minutes, True), 0), n)
    end = min(max(_slot_index(start, app.latest_end, minutes, False), 0), n)
    length = len(app.profile_kw)
    fixed = None if app.started is None else _slot_index(start, app.started, minutes, False)
    published = (
        None if app.published_start is None else _slot_index(start, app.published_start, minutes, True)
    )
    allowed: set[int] = set()
    if fixed is not None:
        starts: list[int] = []
    else:
        allowed = set(range(first, end - length + 1))
        for begin_at, end_at in app.extra_windows:
            lo = min(max(_slot_index(start, begin_at, minutes, True), 0), n)
            hi = min(max(_slot_index(start, end_at, minutes, False), 0), n)
            allowed.update(range(lo, hi - length + 1))
        starts = sorted(allowed)
        if not starts:  # no start fits the window: every start in the horizon, priced by hours outside
            starts = list(range(0, max(n - length, 0) + 1))
    inside = set() if fixed is not None else allowed
    outside = tuple(
        0.0 if s in inside else (max(0, first - s) + max(0, s + length - end)) * h for s in starts
    )
    return Shiftable(
        app.id,
        tuple(app.profile_kw),
        normalise_line(app.line),
        first,
        end,
        tuple(starts),
        outside,
        fixed,
        published,
    )


def _months(spec: ScenarioSpec, times: tuple[datetime, ...]) -> tuple[Month, ...]:
    cap = spec.capacity_tariff
    assert cap is not None
    hours: dict[tuple[int, int], dict[date, dict[tuple[int, timedelta | None], list[int]]]] = {}
    for t, when in enumerate(times):
        month = hours.setdefault((when.year, when.month), {})
        day = month.setdefault(when.date(), {})
        day.setdefault((when.hour, when.utcoffset()), []).append(t)
    out = []
    for k, days in enumerate(hours.values()):
        recorded = tuple(sorted(cap.month_peaks_kw, reverse=True)[:3]) if k == 0 else ()
        out.append(
            Month(
                days=tuple(days),
                hours=tuple(tuple(tuple(s) for s in day.values()) for day in days.values()),
                recorded_kw=recorded,
                first_day_floor_kw=cap.today_peak_kw if k == 0 else 0.0,
            )
        )
    return tuple(out)


def resolve(spec: ScenarioSpec) -> Problem:
    """Turn a validated scenario into a `Problem` (slot indices, arrays, calendar groups)."""
    n, minutes = spec.horizon.slots, spec.horizon.slot_minutes
    h = minutes / 60.0
    tz = zoneinfo.ZoneInfo(spec.site.timezone)
    times = tuple((spec.horizon.start + timedelta(minutes=minutes * t)).astimezone(tz) for t in range(n))
    series = spec.series
    zeros = [0.0] * n
    shiftables, energies, thermals = [], [], []
    start = spec.horizon.start
    for app in spec.appliance:
        if isinstance(app, ShiftableSpec):
            shiftables.append(_shiftable(app, spec, n, h))
        elif isinstance(app, EnergySpec):
            first = min(max(_slot_index(start, app.earliest_start, minutes, True), 0), n)
            end = max(min(max(_slot_index(start, app.latest_end, minutes, False), 0), n), first)
            energies.append(
                Energy(app.id, app.energy_kwh, app.min_kw, app.max_kw, first, end, normalise_line(app.line))
            )
        elif isinstance(app, ThermalSpec):
            thermals.append(
                Thermal(
                    app.id,
                    app.power_kw,
                    app.capacity_kwh,
                    app.initial_kwh,
                    app.min_kwh,
                    app.loss_kw,
                    np.asarray(app.draw_kwh, dtype=float),
                    normalise_line(app.line),
                )
            )
    bat = spec.battery
    battery = (
        None
        if bat is None
        else Battery(
            bat.capacity_kwh,
            bat.max_charge_kw,
            bat.max_discharge_kw,
            bat.efficiency,
            bat.initial_kwh,
            bat.final_min_kwh,
            normalise_line(bat.line),
        )
    )
    cap = spec.capacity_tariff
    capacity = (
        None
        if cap is None
        else Capacity(tuple(cap.step_upper_kw), tuple(cap.step_price), _months(spec, times), cap.peak_repeats)
    )
    return Problem(
        n=n,
        h=h,
        times=times,
        network=spec.site.network,
        voltage_v=spec.site.voltage_v,
        fuse_a=spec.site.main_fuse_a,
        import_price=np.asarray(series.import_price_per_kwh, dtype=float),
        export_price=np.asarray(series.export_price_per_kwh or zeros, dtype=float),
        base_kw=np.asarray(series.base_load_kw, dtype=float),
        pv_kw=np.asarray(series.pv_kw or zeros, dtype=float),
        shiftables=tuple(shiftables),
        energies=tuple(energies),
        thermals=tuple(thermals),
        battery=battery,
        capacity=capacity,
        move_penalty=spec.replan.move_penalty,
        lines=("L1",) if spec.site.network == "1P" else ("L1", "L2", "L3"),
    )
