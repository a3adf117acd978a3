"""Solve a built model with HiGHS through pyomo's HiGHS interface (pyomo.contrib.solver, highspy).

Returns a typed `Outcome` instead of raising on a non-optimal result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from optimiser.model import Built

SolveStatus = Literal["optimal", "time_limit", "no_solution"]


@dataclass(frozen=True)
class Outcome:
    """What the solver did."""

    status: SolveStatus
    objective: float | None  #: model objective of the plan found [currency]
    bound: float | None  #: best proven lower bound [currency]
    mip_gap: float  #: relative gap |objective − bound| / |objective| [-]
    solve_seconds: float  #: translation to HiGHS + HiGHS run, wall clock [s]
    highs_seconds: float  #: HiGHS's own run time [s]
    nodes: int  #: branch-and-bound nodes (0 for an LP)


def solve_model(built: Built, gap: float = 1e-4, time_limit: float = 30.0) -> Outcome:
    """Solve with HiGHS: relative gap `gap` [-], `time_limit` [s]; deterministic (one thread, seed 0)."""
    opt = Highs()
    began = time.perf_counter()
    results = opt.solve(
        built.model,
        time_limit=time_limit,
        rel_gap=gap,
        threads=1,
        load_solutions=False,
        raise_exception_on_nonoptimal_result=False,
        solver_options={"random_seed": 0, "output_flag": False},
    )
    has_plan = results.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
    if has_plan:
        results.solution_loader.load_vars()
    elapsed = time.perf_counter() - began
    objective = results.incumbent_objective if has_plan else None
    bound = results.objective_bound
    nodes = int(getattr(results.extra_info, "mip_node_count", 0) or 0)
    if objective is None or bound is None or nodes < 0:
        mip_gap = (
            0.0 if results.termination_condition == TerminationCondition.convergenceCriteriaSatisfied else 1.0
        )
    else:
        mip_gap = abs(objective - bound) / max(abs(objective), 1e-9)
        if abs(objective - bound) <= 1e-6:
            mip_gap = 0.0
    if not has_plan:
        status: SolveStatus = "no_solution"
    elif results.termination_condition == TerminationCondition.convergenceCriteriaSatisfied:
        status = "optimal"
    else:
        status = "time_limit"
    highs_seconds = float(getattr(results.timing_info, "highs_time", 0.0) or 0.0)
    return Outcome(status, objective, bound, mip_gap, elapsed, highs_seconds, max(nodes, 0))
