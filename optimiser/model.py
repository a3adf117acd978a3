"""Build the day-ahead MILP (pyomo): one `define_*` function per family of variables/constraints.

Units: power [kW], energy [kWh], current [A], money [currency]. Slot t is [t·h, (t+1)·h).
See docs/optimiser.md for the model in words. The capacity tariff lives in `optimiser.capacity`.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyomo.core as pyo  # not pyomo.environ: its 30 plugin packages cost 0.1 s per plan

from optimiser.capacity import define_capacity
from optimiser.problem import RELAX_PRICE, Problem, heating_count_bounds

#: (slot, coefficient [kW per unit of var], var, line of the element) — one consuming term.
Term = tuple[int, float, Any, str]


@dataclass
class Built:
    """A built model plus the bookkeeping the extractor needs."""

    model: pyo.ConcreteModel
    problem: Problem
    terms: list[Term] = field(default_factory=list)
    max_kw: np.ndarray | None = None  #: upper bound of controllable consumption per slot [kW]
    min_kw: np.ndarray | None = None  #: lower bound (battery discharge) per slot [kW]
    objective_terms: list[Any] = field(default_factory=list)
    step_cost: dict[tuple[int, int], float] = field(default_factory=dict)  #: (month, step) → [currency]
    step_upper: dict[tuple[int, int], float] = field(default_factory=dict)  #: (month, step) → [kW]
    top3_sum: dict[int, Any] = field(default_factory=dict)  #: month → expression of S [kW]
    groups: list[list[int]] = field(default_factory=list)  #: identical programs (`identical_groups`)
    deadline: float | None = None  #: time.perf_counter() by which the build must be done

    def check_time(self, stage: str) -> None:
        """`BuildTimeout` once the deadline has passed (the time limit bounds the whole run)."""
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise BuildTimeout(stage)


class BuildTimeout(RuntimeError):
    """Building the model took the whole time limit; ``args[0]`` says how far it got."""


def identical_groups(p: Problem) -> list[list[int]]:
    """Programs that only their ids tell apart — the same profile, line, candidate starts, hours
    outside the window, and no published start to keep — in groups of two or more (indices)."""
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for a, app in enumerate(p.shiftables):
        if app.starts and app.fixed_start is None and (app.published_start is None or not p.move_penalty):
            groups[(app.profile_kw, app.line, app.starts, app.outside_h)].append(a)
    return [g for g in groups.values() if len(g) > 1]


def define_shiftables(b: Built) -> None:
    """One binary per candidate start; Σ starts = 1; power is Σ_s y_s·profile[t-s] (no power var).

    Identical programs (`identical_groups`) share one integer per candidate start instead: how many
    of them start there, Σ = their number. Their plans are the same either way, but one binary each
    makes every permutation of them a different plan to the solver (50 washing machines: 50! ways
    to write the best plan, and a branch and bound that cannot prove it in minutes)."""
    m, p = b.model, b.problem
    b.groups = identical_groups(p)
    grouped = {a for g in b.groups for a in g}
    index = [(a, s) for a, app in enumerate(p.shiftables) if a not in grouped for s in app.starts]
    m.start = pyo.Var(index, domain=pyo.Binary)
    m.one_start = pyo.Constraint(
        [a for a, app in enumerate(p.shiftables) if app.starts and a not in grouped],
        rule=lambda m, a: sum(m.start[a, s] for s in p.shiftables[a].starts) == 1,
    )
    first = {g[0]: (gi, len(g)) for gi, g in enumerate(b.groups)}
    gindex = [(gi, s) for gi, g in enumerate(b.groups) for s in p.shiftables[g[0]].starts]
    m.count = pyo.Var(gindex, domain=pyo.NonNegativeIntegers, bounds=lambda m, gi, s: (0, len(b.groups[gi])))
    m.all_start = pyo.Constraint(
        range(len(b.groups)),
        rule=lambda m, gi: (
            sum(m.count[gi, s] for s in p.shiftables[b.groups[gi][0]].starts) == len(b.groups[gi])
        ),
    )
    for a, app in enumerate(p.shiftables):
        if a % 50 == 49:
            b.check_time(f"after {a + 1} of {len(p.shiftables)} shiftable appliances")
        if a in grouped and a not in first:
            continue  # its group's first program stands for all of them
        gi, many = first.get(a, (None, 1))
        for i, s in enumerate(app.starts):
            var = m.start[a, s] if gi is None else m.count[gi, s]
            for k, kw in enumerate(app.profile_kw):
                if s + k < p.n and kw:
                    b.terms.append((s + k, kw, var, app.line))
            if app.outside_h[i]:
                b.objective_terms.append(RELAX_PRICE * app.outside_h[i] * var)
            if p.move_penalty and app.published_start is not None and s != app.published_start:
                b.objective_terms.append(p.move_penalty * var)
        assert b.max_kw is not None
        if app.starts:
            for t in range(p.n):
                b.max_kw[t] += many * max(app.power_at(s, t) for s in app.starts)


def group_starts(b: Built, value: Any) -> dict[int, int]:
    """Program index → start slot for the grouped programs, from ``value(count var)``: each group's
    starts, earliest first, handed to its programs in their order."""
    out: dict[int, int] = {}
    for gi, g in enumerate(b.groups):
        starts = b.problem.shiftables[g[0]].starts
        slots = [s for s in starts for _ in range(max(round(value(b.model.count[gi, s])), 0))]
        slots += [slots[-1] if slots else starts[0]] * (len(g) - len(slots))  # (a solver's rounding)
        out.update(zip(g, slots[: len(g)], strict=True))
    return out


def define_energy_loads(b: Built) -> None:
    """Interruptible needs: power 0 or within [min_kw, max_kw] in the window; Σ energy = need ± slack."""
    m, p = b.model, b.problem
    index = [(e, t) for e, app in enumerate(p.energies) for t in range(app.first, app.end)]
    m.ev_kw = pyo.Var(index, bounds=lambda m, e, t: (0.0, p.energies[e].max_kw))
    on_index = [(e, t) for e, t in index if p.energies[e].min_kw > 0]
    m.ev_on = pyo.Var(on_index, domain=pyo.Binary)
    m.ev_min = pyo.Constraint(
        on_index, rule=lambda m, e, t: m.ev_kw[e, t] >= p.energies[e].min_kw * m.ev_on[e, t]
    )
    m.ev_max = pyo.Constraint(
        on_index, rule=lambda m, e, t: m.ev_kw[e, t] <= p.energies[e].max_kw * m.ev_on[e, t]
    )
    energy_ids = range(len(p.energies))
    m.ev_short = pyo.Var(energy_ids, domain=pyo.NonNegativeReals)
    m.ev_excess = pyo.Var(energy_ids, domain=pyo.NonNegativeReals)
    m.ev_energy = pyo.Constraint(
        energy_ids,
        rule=lambda m, e: (
            sum(m.ev_kw[e, t] for t in range(p.energies[e].first, p.energies[e].end)) * p.h
            + m.ev_short[e]
            - m.ev_excess[e]
            == p.energies[e].energy_kwh
        ),
    )
    for e in energy_ids:
        b.objective_terms.append(RELAX_PRICE * (m.ev_short[e] + m.ev_excess[e]))
    for e, t in index:
        b.terms.append((t, 1.0, m.ev_kw[e, t], p.energies[e].line))
        assert b.max_kw is not None
        b.max_kw[t] += p.energies[e].max_kw


def define_thermal(b: Built) -> None:
    """Water heaters: on/off binary per slot and the stored heat balance.

    When some schedule keeps the tank within [min_kwh, capacity_kwh], the stored heat gets the
    integer-rounded bounds of `heating_count_bounds` (an integral LP relaxation). Otherwise min_kwh
    is soft: a priced shortfall per slot (rule "<id>.min_kwh").
    """
    m, p = b.model, b.problem
    index = [(k, t) for k in range(len(p.thermals)) for t in range(p.n)]
    bounds: dict[tuple[int, int], tuple[float | None, float]] = {}
    soft = []
    for k, th in enumerate(p.thermals):
        counts = heating_count_bounds(th, p.h)
        demand = np.cumsum(th.loss_kw * p.h + th.draw_kwh)
        for t in range(p.n):
            if counts is None:
                bounds[k, t] = (None, th.capacity_kwh)
                soft.append((k, t))
            else:
                base = th.initial_kwh - float(demand[t])
                step = th.power_kw * p.h
                bounds[k, t] = (base + step * float(counts[0][t]), base + step * float(counts[1][t]))
    m.heat_on = pyo.Var(index, domain=pyo.Binary)
    m.stored = pyo.Var(index, bounds=lambda m, k, t: bounds[k, t])
    m.stored_short = pyo.Var(soft, domain=pyo.NonNegativeReals)

    def balance(m: pyo.ConcreteModel, k: int, t: int) -> object:
        th = p.thermals[k]
        before = th.initial_kwh if t == 0 else m.stored[k, t - 1]
        gain = th.power_kw * p.h * m.heat_on[k, t] - th.loss_kw * p.h - float(th.draw_kwh[t])
        return m.stored[k, t] == before + gain

    m.stored_balance = pyo.Constraint(index, rule=balance)
    m.stored_min = pyo.Constraint(
        soft, rule=lambda m, k, t: m.stored[k, t] + m.stored_short[k, t] >= p.thermals[k].min_kwh
    )
    for k, t in soft:
        b.objective_terms.append(RELAX_PRICE * p.h * m.stored_short[k, t])
    for k, t in index:
        th = p.thermals[k]
        b.terms.append((t, th.power_kw, m.heat_on[k, t], th.line))
        assert b.max_kw is not None
        b.max_kw[t] += th.power_kw


def battery_needs_direction(p: Problem, base_line_min_a: np.ndarray) -> np.ndarray:
    """Slots where simultaneous charge and discharge could pay (burning energy), so a binary is needed.

    With efficiency < 1, charging and discharging together only wastes energy. That is worth it only
    when consuming more is worth it: a negative import or export price, or a fuse whose lower bound
    (reverse current from PV) could bind. Elsewhere the LP never does it strictly, and a tie is
    netted out when the plan is extracted.
    """
    if p.battery is None or p.battery.efficiency >= 1.0:
        return np.zeros(p.n, dtype=bool)
    need = (p.import_price < 0) | (p.export_price < 0)
    if p.fuse_a is not None:
        coef = p.line_coef(p.battery.line)
        dis_a = np.array([max(coef.get(line, 0.0) for line in p.lines)] * p.n) * p.battery.max_discharge_kw
        need |= base_line_min_a - dis_a < -p.fuse_a
    return np.asarray(need, dtype=bool)


def define_battery(b: Built, base_line_min_a: np.ndarray) -> None:
    """Battery: charge/discharge at the grid side, SOC at slot ends, soft final SOC."""
    m, p = b.model, b.problem
    bat = p.battery
    if bat is None:
        return
    T = range(p.n)
    m.charge = pyo.Var(T, bounds=(0.0, bat.max_charge_kw))
    m.discharge = pyo.Var(T, bounds=(0.0, bat.max_discharge_kw))
    m.soc = pyo.Var(T, bounds=(0.0, bat.capacity_kwh))
    m.soc_short = pyo.Var(domain=pyo.NonNegativeReals)
    eta = bat.efficiency
    m.soc_balance = pyo.Constraint(
        T,
        rule=lambda m, t: (
            m.soc[t]
            == (bat.initial_kwh if t == 0 else m.soc[t - 1])
            + eta * p.h * m.charge[t]
            - p.h / eta * m.discharge[t]
        ),
    )
    m.soc_final = pyo.Constraint(expr=m.soc[p.n - 1] + m.soc_short >= bat.final_min_kwh)
    b.objective_terms.append(RELAX_PRICE * m.soc_short)
    need = battery_needs_direction(p, base_line_min_a)
    direction = [t for t in T if need[t]]
    m.charging = pyo.Var(direction, domain=pyo.Binary)
    m.charge_only = pyo.Constraint(
        direction, rule=lambda m, t: m.charge[t] <= bat.max_charge_kw * m.charging[t]
    )
    m.discharge_only = pyo.Constraint(
        direction, rule=lambda m, t: m.discharge[t] <= bat.max_discharge_kw * (1 - m.charging[t])
    )
    for t in T:
        b.terms.append((t, 1.0, m.charge[t], bat.line))
        b.terms.append((t, -1.0, m.discharge[t], bat.line))
    assert b.max_kw is not None and b.min_kw is not None
    b.max_kw += bat.max_charge_kw
    b.min_kw -= bat.max_discharge_kw


def grid_needs_direction(p: Problem) -> np.ndarray:
    """Slots where importing and exporting at once would pay: export price above import price."""
    return np.asarray(p.export_price > p.import_price, dtype=bool)


def define_grid(b: Built) -> None:
    """Import/export and the balance; a complementarity binary only where export pays more than import.

    Where export_price <= import_price, importing and exporting in the same slot never pays, so the
    LP alone is exact (ties are netted at extraction). Where export_price > import_price it would be
    an unbounded arbitrage: there a binary (with the tightest big-M the slot allows) forbids it.
    """
    m, p = b.model, b.problem
    T = range(p.n)
    const = p.base_kw - p.pv_kw + p.fixed_kw()
    assert b.max_kw is not None and b.min_kw is not None
    max_import = np.maximum(const + b.max_kw, 0.0)
    max_export = np.maximum(-(const + b.min_kw), 0.0)
    m.imp = pyo.Var(T, bounds=lambda m, t: (0.0, float(max_import[t])))
    m.exp = pyo.Var(T, bounds=lambda m, t: (0.0, float(max_export[t])))
    by_slot: dict[int, list[tuple[float, Any]]] = defaultdict(list)
    for t, coef, var, _line in b.terms:
        by_slot[t].append((coef, var))
    m.balance = pyo.Constraint(
        T,
        rule=lambda m, t: m.imp[t] - m.exp[t] == float(const[t]) + sum(c * v for c, v in by_slot[t]),
    )
    need = grid_needs_direction(p)
    arbitrage = [t for t in T if need[t] and max_import[t] > 0 and max_export[t] > 0]
    m.importing = pyo.Var(arbitrage, domain=pyo.Binary)
    m.import_only = pyo.Constraint(
        arbitrage, rule=lambda m, t: m.imp[t] <= float(max_import[t]) * m.importing[t]
    )
    m.export_only = pyo.Constraint(
        arbitrage, rule=lambda m, t: m.exp[t] <= float(max_export[t]) * (1 - m.importing[t])
    )
    b.objective_terms.append(
        sum(p.h * (float(p.import_price[t]) * m.imp[t] - float(p.export_price[t]) * m.exp[t]) for t in T)
    )
    b.max_kw = max_import  # reused by the capacity tariff as the bound of hourly import


def base_line_current(p: Problem) -> dict[str, np.ndarray]:
    """Current of base load − PV + running programs on each line [A] (constants of the fuse rows)."""
    out = {line: np.zeros(p.n) for line in p.lines}
    for line, c in p.line_coef("3P").items():
        out[line] += c * (p.base_kw - p.pv_kw)
    for app in p.shiftables:
        if app.fixed_start is not None:
            kw = np.array([app.power_at(app.fixed_start, t) for t in range(p.n)])
            for line, c in p.line_coef(app.line).items():
                out[line] += c * kw
    return out


def define_fuses(b: Built, base_a: dict[str, np.ndarray]) -> None:
    """|line current| <= main_fuse_a per line and slot, with priced slack; rows that can never bind
    (by the variables' bounds) are left out."""
    m, p = b.model, b.problem
    if p.fuse_a is None:
        m.fuse_over = pyo.Var([], domain=pyo.NonNegativeReals)
        return
    rows: dict[tuple[str, int], list[tuple[float, Any]]] = defaultdict(list)
    for t, coef, var, line in b.terms:
        for name, c in p.line_coef(line).items():
            rows[name, t].append((c * coef, var))
    # the slack's upper bound is the most the current can pass the fuse by: for an unbounded column
    # HiGHS's root reduced-cost fixing walks 1024 candidate bounds (it_house's solve: 0.11 -> 0.08 s)
    hi: dict[tuple[str, int], float] = {}
    lo: dict[tuple[str, int], float] = {}
    for line in p.lines:
        for t in range(p.n):
            terms = rows[line, t]
            top = base_a[line][t] + sum(c * _ub(v) for c, v in terms if c > 0)
            bottom = base_a[line][t] + sum(c * _ub(v) for c, v in terms if c < 0)
            if top > p.fuse_a + 1e-9:
                hi[line, t] = float(top - p.fuse_a)
            if bottom < -p.fuse_a - 1e-9:
                lo[line, t] = float(-p.fuse_a - bottom)
    m.fuse_over = pyo.Var(list(hi), bounds=lambda m, line, t: (0.0, hi[line, t]))
    m.fuse_under = pyo.Var(list(lo), bounds=lambda m, line, t: (0.0, lo[line, t]))
    fuse = p.fuse_a

    def current(m: pyo.ConcreteModel, line: str, t: int) -> object:
        return float(base_a[line][t]) + sum(c * v for c, v in rows[line, t])

    # indexed by lists: a dict as index becomes a set whose order follows the process's hash seed
    m.fuse_hi = pyo.Constraint(
        list(hi), rule=lambda m, line, t: current(m, line, t) <= fuse + m.fuse_over[line, t]
    )
    m.fuse_lo = pyo.Constraint(
        list(lo), rule=lambda m, line, t: current(m, line, t) >= -fuse - m.fuse_under[line, t]
    )
    b.objective_terms.append(sum(RELAX_PRICE * p.h * m.fuse_over[k] for k in hi))
    b.objective_terms.append(sum(RELAX_PRICE * p.h * m.fuse_under[k] for k in lo))


def _ub(var: object) -> float:
    upper = var.ub  # type: ignore[attr-defined]
    if var.is_binary():  # type: ignore[attr-defined]
        return 1.0
    return float(upper) if upper is not None else 0.0


def build_model(p: Problem, deadline: float | None = None) -> Built:
    """Build the whole model for `p` (no solve). The objective is energy + capacity + relaxation.
    ``deadline`` [time.perf_counter()]: `BuildTimeout` when building is not done by then."""
    b = Built(pyo.ConcreteModel(name="hems_day_ahead"), p, deadline=deadline)
    b.max_kw = np.zeros(p.n)
    b.min_kw = np.zeros(p.n)
    base_a = base_line_current(p)
    base_line_min = np.min(np.vstack(list(base_a.values())), axis=0)
    define_shiftables(b)
    b.check_time("after the shiftable appliances")
    define_energy_loads(b)
    define_thermal(b)
    b.check_time("after the energy and thermal loads")
    define_battery(b, base_line_min)
    define_grid(b)
    b.check_time("after the grid balance")
    define_fuses(b, base_a)
    define_capacity(b)
    b.check_time("after the fuses and the capacity tariff")
    b.model.cost = pyo.Objective(expr=sum(b.objective_terms), sense=pyo.minimize)
    return b
