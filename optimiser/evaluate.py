"""Cost, line currents and relaxed rules of a plan, recomputed from the plan's series alone.

Pure numpy, no pyomo: the reported figures follow the contract's formulas, not solver internals,
and the explanation reuses the same functions to price alternatives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optimiser.problem import RELAX_PRICE, Problem, top3_mean


@dataclass
class Plan:
    """Decisions as series over the slots (power [kW], energy [kWh])."""

    starts: dict[str, int | None]  #: shiftable id → start slot (None: no start)
    appliance_kw: dict[str, np.ndarray]  #: every appliance id → power per slot
    stored_kwh: dict[str, np.ndarray]  #: thermal id → stored heat at the end of each slot
    charge_kw: np.ndarray
    discharge_kw: np.ndarray
    soc_kwh: np.ndarray
    line_of: dict[str, str] = field(default_factory=dict)  #: appliance id → line


def net_kw(p: Problem, plan: Plan) -> np.ndarray:
    """Grid import − export per slot [kW] from the balance."""
    total = p.base_kw - p.pv_kw + plan.charge_kw - plan.discharge_kw
    for kw in plan.appliance_kw.values():
        total = total + kw
    return np.asarray(total)


def split_grid(net: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(import, export) [kW], never both positive."""
    return np.maximum(net, 0.0), np.maximum(-net, 0.0)


def energy_cost(p: Problem, imp: np.ndarray, exp: np.ndarray) -> float:
    """Σ (import·import_price − export·export_price)·h [currency]."""
    return float(np.sum(imp * p.import_price - exp * p.export_price) * p.h)


@dataclass(frozen=True)
class MonthCapacity:
    """The capacity step of one month: day peaks [kW], top-three mean [kW], step and its cost."""

    day_peaks_kw: tuple[float, ...]
    mean_kw: float
    step: int
    cost: float


def capacity_cost(p: Problem, imp: np.ndarray) -> tuple[float, list[MonthCapacity]]:
    """Capacity cost [currency] and the per-month detail (contract: marginal step price)."""
    cap = p.capacity
    if cap is None:
        return 0.0, []
    months = []
    for g, month in enumerate(cap.months):
        peaks: list[float] = []
        if month.hours:  # every hour's mean at once, then each day's largest
            flat, offsets, lengths, firsts = month.hour_index
            day_max = np.maximum.reduceat(np.add.reduceat(imp[flat], offsets) / lengths, firsts)
            floors = [month.first_day_floor_kw] + [0.0] * (len(day_max) - 1)
            peaks = [max(floor, float(v)) for floor, v in zip(floors, day_max, strict=True)]
        mean = top3_mean([*month.recorded_kw, *peaks * cap.peak_repeats])
        step = cap.step_index(mean)
        cost = cap.step_price[step] - cap.base_price(cap.months[g])
        months.append(MonthCapacity(tuple(peaks), mean, step, cost))
    return float(sum(mc.cost for mc in months)), months


def line_currents(p: Problem, plan: Plan) -> dict[str, np.ndarray]:
    """Signed current on each line per slot [A] (consumption +, PV and discharge −)."""
    out = {line: np.zeros(p.n) for line in p.lines}
    elements: list[tuple[str, np.ndarray]] = [("3P", p.base_kw - p.pv_kw)]
    elements += [(plan.line_of[a], kw) for a, kw in plan.appliance_kw.items()]
    if p.battery is not None:
        elements.append((p.battery.line, plan.charge_kw - plan.discharge_kw))
    for line, kw in elements:
        for name, c in p.line_coef(line).items():
            out[name] = out[name] + c * kw
    return out


def relaxed_rules(p: Problem, plan: Plan) -> list[dict[str, object]]:
    """Every rule the plan breaks: rule id, amount, unit, cost [currency] (the model's slack prices)."""
    out: list[dict[str, object]] = []
    tol = 1e-5  # above solver tolerances (1e-7 kW is ~4e-7 A)

    def add(rule: str, amount: float, unit: str, cost: float) -> None:
        if amount > tol:
            out.append({"rule": rule, "amount": round(amount, 6), "unit": unit, "cost": round(cost, 6)})

    for app in p.shiftables:
        start = plan.starts.get(app.id)
        if app.fixed_start is None and start is not None and start in app.starts:
            hours = app.outside_h[app.starts.index(start)]
            add(f"{app.id}.window", hours, "h", RELAX_PRICE * hours)
    for e in p.energies:
        miss = abs(float(np.sum(plan.appliance_kw[e.id])) * p.h - e.energy_kwh)
        add(f"{e.id}.energy", miss, "kWh", RELAX_PRICE * miss)
    for th in p.thermals:
        short = np.maximum(th.min_kwh - plan.stored_kwh[th.id], 0.0)
        add(f"{th.id}.min_kwh", float(short.max(initial=0.0)), "kWh", RELAX_PRICE * p.h * float(short.sum()))
    if p.battery is not None:
        short_soc = max(p.battery.final_min_kwh - float(plan.soc_kwh[-1]), 0.0)
        add("battery.final_min_kwh", short_soc, "kWh", RELAX_PRICE * short_soc)
    if p.fuse_a is not None:
        for line, amps in line_currents(p, plan).items():
            over = np.maximum(np.abs(amps) - p.fuse_a, 0.0)
            add(f"fuse.{line}", float(over.max(initial=0.0)), "A", RELAX_PRICE * p.h * float(over.sum()))
    return out


def stability_cost(p: Problem, plan: Plan) -> float:
    """Cost of moving already published starts ([replan] move_penalty) [currency]."""
    cost = 0.0
    for app in p.shiftables:
        start = plan.starts.get(app.id)
        if app.fixed_start is None and app.published_start is not None and start != app.published_start:
            cost += p.move_penalty
    return cost
