"""Read the solved model back into a `Plan` (series) and the contract's JSON result.

Values are cleaned the way the contract reads them: binaries rounded, a battery charging and
discharging in the same slot (a tie the LP may return where it does not pay) netted at equal SOC,
import/export recomputed from the balance so they are never both positive, SOC and stored heat
recomputed from their balances.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.core as pyo  # not pyomo.environ: its 30 plugin packages cost 0.1 s per plan

from optimiser.evaluate import (
    Plan,
    capacity_cost,
    energy_cost,
    net_kw,
    relaxed_rules,
    split_grid,
    stability_cost,
)
from optimiser.model import Built, group_starts
from optimiser.problem import Problem
from optimiser.solve import Outcome


def _val(var: Any) -> float:
    value = pyo.value(var, exception=False)
    return 0.0 if value is None else float(value)


def _clean(values: np.ndarray) -> np.ndarray:
    out = np.where(np.abs(values) < 1e-9, 0.0, values)
    return np.asarray(out, dtype=float)


def _battery(p: Problem, m: pyo.ConcreteModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if p.battery is None:
        z = np.zeros(p.n)
        return z, z.copy(), z.copy()
    eta = p.battery.efficiency
    ch = np.array([max(_val(m.charge[t]), 0.0) for t in range(p.n)])
    dis = np.array([max(_val(m.discharge[t]), 0.0) for t in range(p.n)])
    both = (ch > 0) & (dis > 0)
    stored = eta * ch - dis / eta  # SOC change per hour, kept
    ch = np.where(both, np.maximum(stored / eta, 0.0), ch)
    dis = np.where(both, np.maximum(-stored * eta, 0.0), dis)
    ch, dis = _clean(ch), _clean(dis)
    soc = p.battery.initial_kwh + np.cumsum((eta * ch - dis / eta) * p.h)
    return ch, dis, _clean(soc)


def _chosen_start(m: pyo.ConcreteModel, a: int, starts: tuple[int, ...]) -> int | None:
    values = {s: _val(m.start[a, s]) for s in starts}
    return max(values, key=lambda s: values[s]) if values else None


def extract_plan(built: Built) -> Plan:
    """Plan series from the solved model's variable values."""
    m, p = built.model, built.problem
    starts: dict[str, int | None] = {}
    kw: dict[str, np.ndarray] = {}
    stored: dict[str, np.ndarray] = {}
    line_of: dict[str, str] = {}
    grouped = group_starts(built, _val)
    for a, app in enumerate(p.shiftables):
        line_of[app.id] = app.line
        if app.fixed_start is not None:
            start: int | None = app.fixed_start
        elif a in grouped:
            start = grouped[a]
        else:
            start = _chosen_start(m, a, app.starts)
        starts[app.id] = start
        kw[app.id] = np.array([0.0 if start is None else app.power_at(start, t) for t in range(p.n)])
    for e, need in enumerate(p.energies):
        line_of[need.id] = need.line
        series = np.zeros(p.n)
        for t in range(need.first, need.end):
            series[t] = _val(m.ev_kw[e, t])
        kw[need.id] = _clean(series)
    for k, th in enumerate(p.thermals):
        line_of[th.id] = th.line
        on = np.array([round(_val(m.heat_on[k, t])) for t in range(p.n)], dtype=float)
        kw[th.id] = on * th.power_kw
        gain = on * th.power_kw * p.h - th.loss_kw * p.h - th.draw_kwh
        stored[th.id] = _clean(th.initial_kwh + np.cumsum(gain))
    ch, dis, soc = _battery(p, m)
    return Plan(starts, kw, stored, ch, dis, soc, line_of)


def _series(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) + 0.0 for v in values]


def result_json(p: Problem, plan: Plan, outcome: Outcome, build_seconds: float) -> dict[str, Any]:
    """The contract's JSON object (docs/scenario-format.md), costs recomputed from the plan."""
    imp, exp = split_grid(net_kw(p, plan))
    energy = energy_cost(p, imp, exp)
    capacity, _ = capacity_cost(p, imp)
    relaxed = relaxed_rules(p, plan)
    stability = stability_cost(p, plan)
    relax_cost = float(sum(float(str(r["cost"])) for r in relaxed))
    objective = energy + capacity + relax_cost + stability
    # a search cut short says so first: its relaxations may be the clock's doing, not the rules'
    status = "time_limit" if outcome.status != "optimal" else ("relaxed" if relaxed else "optimal")
    appliances: dict[str, Any] = {}
    for app in p.shiftables:
        start = plan.starts[app.id]
        when = None if start is None else p.time_of(start).isoformat()
        appliances[app.id] = {"start": when, "power_kw": _series(plan.appliance_kw[app.id])}
    for e in p.energies:
        appliances[e.id] = {"power_kw": _series(plan.appliance_kw[e.id])}
    for th in p.thermals:
        appliances[th.id] = {
            "power_kw": _series(plan.appliance_kw[th.id]),
            "stored_kwh": _series(plan.stored_kwh[th.id]),
        }
    battery = None
    if p.battery is not None:
        battery = {
            "charge_kw": _series(plan.charge_kw),
            "discharge_kw": _series(plan.discharge_kw),
            "soc_kwh": _series(plan.soc_kwh),
        }
    out: dict[str, Any] = {
        "status": status,
        "objective": round(objective, 6),
        "energy_cost": round(energy, 6),
        "capacity_cost": round(capacity, 6),
        "mip_gap": round(outcome.mip_gap, 8),
        "solve_seconds": round(build_seconds + outcome.solve_seconds, 4),
        "slots": [t.isoformat() for t in p.times],
        "grid": {"import_kw": _series(imp), "export_kw": _series(exp)},
        "appliances": appliances,
        "battery": battery,
        "relaxed": relaxed,
        "timing": {
            "build_seconds": round(build_seconds, 4),
            "solve_seconds": round(outcome.solve_seconds, 4),
        },
    }
    if stability:
        out["stability_cost"] = round(stability, 6)
    return out
