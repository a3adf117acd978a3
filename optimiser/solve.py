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
import math
import time
from dataclasses import dataclass
from typing import Any, Literal

import highspy
import numpy as np
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


class _Columns:
    """The HiGHS model of ``built``, translated once by pyomo's persistent interface and then driven
    directly: fixing a step or relaxing the binaries is a change of column bounds or integrality in
    HiGHS (microseconds; the same change through pyomo re-translates every constraint it touches,
    which cost more than the solves themselves), and consecutive LPs start from the last basis."""

    def __init__(self, built: Built) -> None:
        opt = Highs()
        opt.set_instance(built.model)
        self.highs: Any = opt._solver_model  # pyomo keeps its highspy.Highs private; no copy is made
        col = opt._pyomo_var_to_solver_var_map  # id(var) -> column
        self.vars = [(v, col[id(v)]) for v in built.model.component_data_objects(pyo.Var) if id(v) in col]
        self.integers = [j for v, j in self.vars if v.is_integer() or v.is_binary()]
        self.step_cols = {key: col[id(var)] for key, var in built.model.step.items() if id(var) in col}
        for key, option in {"threads": 1, "random_seed": 0, "output_flag": False}.items():
            self.highs.setOptionValue(key, option)

    def fix_steps(self, combo: dict[int, int]) -> None:
        keys = list(self.step_cols)
        values = [1.0 if combo[g] == j else 0.0 for g, j in keys]
        self.highs.changeColsBounds(
            len(keys), np.array([self.step_cols[k] for k in keys], dtype=np.int32), values, values
        )

    def integrality(self, integer: bool) -> None:
        kind = highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
        n = len(self.integers)
        if n:
            self.highs.changeColsIntegrality(n, np.array(self.integers, dtype=np.int32), np.full(n, kind))

    def run(self, gap: float, time_limit: float, mip: bool) -> None:
        """Run HiGHS for at most ``time_limit`` [s]. HiGHS checks an LP's limit against the run clock
        it keeps over all runs of this model, a MIP's against the clock of that run."""
        budget = max(time_limit, 0.01)
        self.highs.setOptionValue("time_limit", budget if mip else self.highs.getRunTime() + budget)
        self.highs.setOptionValue("mip_rel_gap", gap)
        self.highs.run()

    def status(self) -> Any:
        return self.highs.getModelStatus()

    def has_plan(self) -> bool:
        return bool(self.highs.getInfo().primal_solution_status == 2)  # 2: feasible

    def values(self) -> list[float]:
        return list(self.highs.getSolution().col_value)

    def load(self, values: list[float]) -> None:
        for var, j in self.vars:
            var.set_value(values[j], skip_validation=True)


class _StepSearch:
    """Explicit branching on the month steps (see the module docstring)."""

    def __init__(self, built: Built, gap: float, time_limit: float) -> None:
        self.built, self.gap, self.time_limit = built, gap, time_limit
        self.deadline = time.perf_counter() + time_limit
        self.cols = _Columns(built)
        self.months = sorted({g for g, _ in built.step_cost})
        self.choices = {g: sorted(j for gg, j in built.step_cost if gg == g) for g in self.months}
        self.best: tuple[float, list[float]] | None = None
        self.bounds: list[float] = []
        self.proven, self.nodes = True, 0
        self.tried = False  #: a MIP has run (only the first is given time past the deadline)

    @property
    def highs_seconds(self) -> float:
        return float(self.cols.highs.getRunTime())  # cumulative over the runs of one Highs

    def cost(self, combo: dict[int, int]) -> float:
        return sum(self.built.step_cost[g, j] for g, j in combo.items())

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def relaxed_bound(self, combo: dict[int, int]) -> float:
        """Lower bound from the LP relaxation with the steps ``combo`` fixed [currency]."""
        self.cols.fix_steps(combo)
        self.cols.run(0.0, self.left(), mip=False)
        status = self.cols.status()
        if status == highspy.HighsModelStatus.kInfeasible:
            return float("inf")  # this step cannot hold: the peaks it allows are too low
        if status != highspy.HighsModelStatus.kOptimal:
            return float("-inf")
        return float(self.cols.highs.getInfo().objective_function_value)

    def solve(self, combo: dict[int, int], lp_bound: float) -> None:
        """The MIP with the steps ``combo`` fixed (LP bound ``lp_bound``): plan offered, bound kept."""
        self.cols.fix_steps(combo)
        # the first MIP gets at least a third of the budget, so a short limit still yields a plan
        floor = 0.0 if self.tried else self.time_limit / 3
        self.tried = True
        self.cols.run(self.gap, max(self.left(), floor), mip=True)
        status, info = self.cols.status(), self.cols.highs.getInfo()
        self.nodes += max(int(info.mip_node_count), 0)
        has_plan = self.cols.has_plan()
        self.proven &= status == highspy.HighsModelStatus.kOptimal or not has_plan
        if status == highspy.HighsModelStatus.kInfeasible:
            return
        dual = float(info.mip_dual_bound)
        self.bounds.append(lp_bound if math.isnan(dual) else max(dual, lp_bound))
        if has_plan:
            objective = float(info.objective_function_value)
            if self.best is None or objective < self.best[0]:
                self.best = (objective, self.cols.values())

    def run(self) -> None:
        """Best-first search over the step combinations, each bounded by its LP relaxation."""
        combos = [dict(zip(self.months, c, strict=True)) for c in itertools.product(*self.choices.values())]
        combos.sort(key=lambda c: (self.cost(c), sorted(c.items())))
        self.cols.integrality(False)
        bounded = sorted(
            ((self.relaxed_bound(combo), k, combo) for k, combo in enumerate(combos)),
            key=lambda item: (item[0], item[1]),
        )
        self.cols.integrality(True)
        for lp_bound, _, combo in bounded:
            target = float("inf") if self.best is None else self.best[0] - self.gap * abs(self.best[0]) - 1e-9
            if lp_bound >= target:
                self.bounds.append(lp_bound)  # this and every later combination are pruned
                break
            if self.left() <= 0 and self.best is not None:
                self.proven = False
                self.bounds.append(lp_bound)
                break
            self.solve(combo, lp_bound)


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
    elapsed = time.perf_counter() - began
    if search.best is None:
        return Outcome("no_solution", None, None, 1.0, elapsed, search.highs_seconds, search.nodes)
    search.cols.load(search.best[1])
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
