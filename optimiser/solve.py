"""Solve a built model with HiGHS through pyomo's HiGHS interface (pyomo.contrib.solver, highspy).

Returns a typed `Outcome` instead of raising on a non-optimal result.

With a capacity tariff the step choice is the weak spot of the LP relaxation: a fractional step
"buys" peak room at the convex envelope's price, and HiGHS then spends seconds in root heuristics
closing the last 0.1 %. The few reachable steps are therefore branched on here, explicitly: every
combination of month steps gets the LP bound of the model with those steps fixed (the peak then is
a hard cap and the LP is tight); the combinations are solved as MIPs best bound first, and the rest
are pruned as soon as their LP bound cannot beat the best plan. The result is proven to the same
gap; the reported bound is the smallest bound of any combination not excluded.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any, Literal

import pyomo.core as pyo  # not pyomo.environ: its 30 plugin packages cost 0.1 s per plan
from pyomo.contrib.solver.common.results import Results, SolutionStatus, TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from optimiser.model import Built

SolveStatus = Literal["optimal", "time_limit", "no_solution"]

#: Enumerate step combinations only up to this many; beyond, one MIP chooses the steps.
MAX_STEP_COMBINATIONS = 16


@dataclass(frozen=True)
class Outcome:
    """What the solver did."""

    status: SolveStatus
    objective: float | None  #: model objective of the plan found [currency]
    bound: float | None  #: best proven lower bound [currency]
    mip_gap: float  #: relative gap |objective − bound| / |objective| [-]
    solve_seconds: float  #: translation to HiGHS + HiGHS runs, wall clock [s]
    highs_seconds: float  #: HiGHS's own run time [s]
    nodes: int  #: branch-and-bound nodes (0 for an LP)


def _run(opt: Highs, model: pyo.ConcreteModel, gap: float, time_limit: float) -> Results:
    return opt.solve(
        model,
        time_limit=max(time_limit, 0.01),
        rel_gap=gap,
        threads=1,
        load_solutions=False,
        raise_exception_on_nonoptimal_result=False,
        solver_options={"random_seed": 0, "output_flag": False},
    )


def _has_plan(results: Results) -> bool:
    return results.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)


def _proven(results: Results) -> bool:
    return bool(results.termination_condition == TerminationCondition.convergenceCriteriaSatisfied)


def gap_of(objective: float | None, bound: float | None) -> float:
    if objective is None or bound is None:
        return 1.0
    if abs(objective - bound) <= 1e-6:
        return 0.0
    return abs(objective - bound) / max(abs(objective), 1e-9)


def _highs_time(results: Results) -> float:
    return float(getattr(results.timing_info, "highs_time", 0.0) or 0.0)


def _nodes(results: Results) -> int:
    return max(int(getattr(results.extra_info, "mip_node_count", 0) or 0), 0)


def _solve_once(built: Built, gap: float, time_limit: float) -> Outcome:
    began = time.perf_counter()
    results = _run(Highs(), built.model, gap, time_limit)
    has_plan = _has_plan(results)
    if has_plan:
        results.solution_loader.load_vars()
    objective = results.incumbent_objective if has_plan else None
    bound = results.objective_bound if results.objective_bound is not None else objective
    status: SolveStatus = "no_solution" if not has_plan else ("optimal" if _proven(results) else "time_limit")
    mip_gap = 0.0 if status == "optimal" and bound is None else gap_of(objective, bound)
    elapsed = time.perf_counter() - began
    return Outcome(status, objective, bound, mip_gap, elapsed, _highs_time(results), _nodes(results))


def _fix_steps(model: pyo.ConcreteModel, combo: dict[int, int]) -> None:
    for (g, j), var in model.step.items():
        var.fix(1.0 if combo[g] == j else 0.0)


def _relaxed_bound(opt: Highs, model: pyo.ConcreteModel, limit: float) -> tuple[float, Results]:
    """Lower bound from the LP relaxation (binaries in [0, 1]) of the model as it stands [currency]."""
    binaries = [v for v in model.component_data_objects(pyo.Var) if v.is_binary() and not v.fixed]
    for v in binaries:
        v.domain = pyo.UnitInterval
    try:
        results = _run(opt, model, 0.0, limit)
    finally:
        for v in binaries:
            v.domain = pyo.Binary
    if results.termination_condition == TerminationCondition.provenInfeasible:
        return float("inf"), results  # this step cannot hold: the peaks it allows are too low
    bound = results.objective_bound if results.objective_bound is not None else results.incumbent_objective
    return (float("-inf") if bound is None else float(bound)), results


def _snapshot(model: pyo.ConcreteModel) -> list[tuple[Any, Any]]:
    return [(v, v.value) for v in model.component_data_objects(pyo.Var)]


class _StepSearch:
    """Explicit branching on the month steps (see the module docstring)."""

    def __init__(self, built: Built, gap: float, time_limit: float) -> None:
        self.built, self.gap, self.time_limit = built, gap, time_limit
        self.deadline = time.perf_counter() + time_limit
        self.opt = Highs()
        self.months = sorted({g for g, _ in built.step_cost})
        self.choices = {g: sorted(j for gg, j in built.step_cost if gg == g) for g in self.months}
        self.best: tuple[float, list[tuple[Any, Any]]] | None = None
        self.bounds: list[float] = []
        self.proven, self.highs_seconds, self.nodes = True, 0.0, 0

    def cost(self, combo: dict[int, int]) -> float:
        return sum(self.built.step_cost[g, j] for g, j in combo.items())

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def solve(self, combo: dict[int, int]) -> Results:
        _fix_steps(self.built.model, combo)
        # the first plan gets at least a third of the budget, so a short limit still yields one
        floor = self.time_limit / 3 if self.best is None else 0.0
        results = _run(self.opt, self.built.model, self.gap, max(self.left(), floor))
        self.highs_seconds = max(self.highs_seconds, _highs_time(results))  # cumulative in one Highs
        self.nodes += _nodes(results)
        self.proven &= _proven(results) or not _has_plan(results)
        return results

    def offer(self, objective: float) -> None:
        """Keep the loaded solution if it is the best so far."""
        if self.best is None or objective < self.best[0]:
            self.best = (objective, _snapshot(self.built.model))

    def run(self) -> None:
        """Best-first search over the step combinations, each bounded by its LP relaxation."""
        m = self.built.model
        combos = [dict(zip(self.months, c, strict=True)) for c in itertools.product(*self.choices.values())]
        combos.sort(key=lambda c: (self.cost(c), sorted(c.items())))
        bounded: list[tuple[float, int, dict[int, int]]] = []
        for k, combo in enumerate(combos):
            _fix_steps(m, combo)
            lp_bound, lp = _relaxed_bound(self.opt, m, self.left())
            self.highs_seconds = max(self.highs_seconds, _highs_time(lp))
            bounded.append((lp_bound, k, combo))
        bounded.sort(key=lambda item: (item[0], item[1]))
        for lp_bound, _, combo in bounded:
            target = float("inf") if self.best is None else self.best[0] - self.gap * abs(self.best[0]) - 1e-9
            if lp_bound >= target:
                self.bounds.append(lp_bound)  # this and every later combination are pruned
                break
            if self.left() <= 0 and self.best is not None:
                self.proven = False
                self.bounds.append(lp_bound)
                break
            results = self.solve(combo)
            if results.termination_condition == TerminationCondition.provenInfeasible:
                continue
            bound = results.objective_bound
            self.bounds.append(lp_bound if bound is None else max(float(bound), lp_bound))
            if _has_plan(results):
                results.solution_loader.load_vars()
                self.offer(float(results.incumbent_objective))


def _solve_by_step(built: Built, gap: float, time_limit: float) -> Outcome | None:
    months = {g for g, _ in built.step_cost}
    combos = 1
    for g in months:
        combos *= sum(1 for gg, _ in built.step_cost if gg == g)
    if combos > MAX_STEP_COMBINATIONS:
        return None
    began = time.perf_counter()
    search = _StepSearch(built, gap, time_limit)
    search.run()
    for var in built.model.step.values():
        var.unfix()
    elapsed = time.perf_counter() - began
    if search.best is None:
        return Outcome("no_solution", None, None, 1.0, elapsed, search.highs_seconds, search.nodes)
    for var, value in search.best[1]:
        var.set_value(value, skip_validation=True)
    objective = search.best[0]
    bound = min([*search.bounds, objective])
    mip_gap = gap_of(objective, bound)
    status: SolveStatus = "optimal" if search.proven and mip_gap <= gap + 1e-9 else "time_limit"
    return Outcome(status, objective, bound, mip_gap, elapsed, search.highs_seconds, search.nodes)


def solve_model(built: Built, gap: float = 1e-4, time_limit: float = 30.0) -> Outcome:
    """Solve with HiGHS: relative gap `gap` [-], `time_limit` [s]; deterministic (one thread, seed 0)."""
    if built.step_cost and hasattr(built.model, "step"):
        outcome = _solve_by_step(built, gap, time_limit)
        if outcome is not None:
            return outcome
    return _solve_once(built, gap, time_limit)
