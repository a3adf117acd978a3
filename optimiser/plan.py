"""Plan one scenario: resolve → build → solve → extract → explain. The one entry point.

`plan_scenario` returns the contract's JSON object (a dict) plus the project's "explanation" and
"timing" keys. It imports pyomo; the daemon calls it only through `optimiser.worker`.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from optimiser.explain import explain
from optimiser.extract import extract_plan, result_json
from optimiser.fallback import improve_cut_short
from optimiser.model import BuildTimeout, build_model
from optimiser.problem import resolve
from optimiser.scenario import ScenarioSpec, parse_scenario
from optimiser.solve import solve_model

#: start-and-slot terms of all shiftable appliances beyond which a model is refused, not built (a
#: 3000-appliance case took minutes and a gigabyte before anything was solved)
MAX_SHIFTABLE_TERMS = 500_000

#: share of the time limit kept for extracting and explaining the plan [-]
EXPLAIN_SHARE = 0.1


class PlanError(RuntimeError):
    """No plan at all (only when the time limit is hit before any plan was found)."""


def plan_scenario(
    scenario: ScenarioSpec | dict[str, Any],
    gap: float = 1e-4,
    time_limit: float = 30.0,
    lp_path: str | Path | None = None,
    source: str = "<scenario>",
) -> dict[str, Any]:
    """Solve a scenario to relative gap `gap` [-] within `time_limit` [s]; optionally write the LP.

    Raises `ScenarioError` for a malformed scenario (dict input) and `PlanError` when the time
    limit passed before any plan was found. Conflicting rules never raise: they come back relaxed.
    """
    if not (math.isfinite(gap) and gap >= 0 and math.isfinite(time_limit) and time_limit > 0):
        raise PlanError(f"{source}: the gap must be a number >= 0 and the time limit a number > 0")
    began = time.perf_counter()
    deadline = began + time_limit  # the time limit bounds the whole run, not only the solver
    spec = scenario if isinstance(scenario, ScenarioSpec) else parse_scenario(scenario, source)
    problem = resolve(spec)
    terms = sum(len(app.starts) * len(app.profile_kw) for app in problem.shiftables)
    if terms > MAX_SHIFTABLE_TERMS:
        raise PlanError(
            f"{source}: {len(problem.shiftables)} shiftable appliances with {terms} start-and-slot terms are "
            f"more than the planner builds (at most {MAX_SHIFTABLE_TERMS}); plan fewer or narrower windows"
        )
    try:
        built = build_model(problem, deadline=deadline)
    except BuildTimeout as exc:
        raise PlanError(
            f"{source}: building the model took the whole time limit of {time_limit:g} s ({exc}); "
            "raise the time limit or plan fewer appliances"
        ) from None
    build_seconds = time.perf_counter() - began
    if lp_path is not None:
        import pyomo.environ  # noqa: F401  - registers the LP writer (the plan itself needs only pyomo.core)

        try:
            built.model.write(str(lp_path), format="cpxlp", io_options={"symbolic_solver_labels": True})
        except OSError as exc:
            raise PlanError(f"cannot write the LP file {lp_path}: {exc.strerror or exc}") from None
    # a tenth of the limit stays for reading the plan out and explaining it (explain stops pricing
    # other starts at the deadline and says so)
    solved_by = deadline - EXPLAIN_SHARE * time_limit
    left = solved_by - time.perf_counter()
    if left <= 0:
        raise PlanError(f"{source}: no time left to solve within the time limit of {time_limit:g} s")
    # the search gets most of what is left; a quarter stays for a plan that keeps the fuse when the
    # search is cut short (optimiser/fallback.py)
    outcome = solve_model(built, gap=gap, time_limit=left * 0.75 if problem.shiftables else left)
    if outcome.status != "optimal":
        outcome = improve_cut_short(built, outcome, gap, solved_by)
    if outcome.status == "no_solution":
        raise PlanError(f"{source}: no plan found within the time limit of {time_limit} s")
    plan = extract_plan(built)
    result = result_json(problem, plan, outcome, build_seconds)
    result["timing"]["highs_seconds"] = round(outcome.highs_seconds, 4)
    result["timing"]["nodes"] = outcome.nodes
    result["explanation"] = explain(problem, plan, deadline)
    return result
