"""Plan one scenario: resolve → build → solve → extract → explain. The one entry point.

`plan_scenario` returns the contract's JSON object (a dict) plus the project's "explanation" and
"timing" keys. It imports pyomo; the daemon calls it only through `optimiser.worker`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from optimiser.explain import explain
from optimiser.extract import extract_plan, result_json
from optimiser.model import build_model
from optimiser.problem import resolve
from optimiser.scenario import ScenarioSpec, parse_scenario
from optimiser.solve import solve_model


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
    spec = scenario if isinstance(scenario, ScenarioSpec) else parse_scenario(scenario, source)
    problem = resolve(spec)
    began = time.perf_counter()
    built = build_model(problem)
    build_seconds = time.perf_counter() - began
    if lp_path is not None:
        built.model.write(str(lp_path), format="cpxlp", io_options={"symbolic_solver_labels": True})
    outcome = solve_model(built, gap=gap, time_limit=time_limit)
    if outcome.status == "no_solution":
        raise PlanError(f"{source}: no plan found within the time limit of {time_limit} s")
    plan = extract_plan(built)
    result = result_json(problem, plan, outcome, build_seconds)
    result["timing"]["highs_seconds"] = round(outcome.highs_seconds, 4)
    result["timing"]["nodes"] = outcome.nodes
    result["explanation"] = explain(problem, plan)
    return result
