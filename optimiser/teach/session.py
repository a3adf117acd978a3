"""One solved scenario with everything the teaching views need: the file's raw data, the validated
spec, the resolved problem, the contract's JSON result and the plan as series.

The plan is solved by `optimiser.plan.plan_scenario` (the same path as `hems plan`) and read back
from its JSON result, so every number shown to a class is the one `hems plan --json` prints.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from optimiser.evaluate import Plan
from optimiser.plan import plan_scenario
from optimiser.problem import Problem, resolve
from optimiser.scenario import ScenarioSpec, load_scenario


@dataclass(frozen=True)
class Solved:
    """A scenario and its plan."""

    source: str  #: file name as given
    data: dict[str, Any]  #: the TOML structure as read (for comparing two files)
    spec: ScenarioSpec
    problem: Problem
    result: dict[str, Any]  #: `hems plan --json` object (with "explanation")
    plan: Plan


def slot_of(problem: Problem, when: str) -> int:
    """Slot index of an ISO-8601 instant (may be outside the horizon)."""
    seconds = (datetime.fromisoformat(when) - problem.times[0]).total_seconds()
    return round(seconds / 3600.0 / problem.h)


def plan_from_result(problem: Problem, result: dict[str, Any]) -> Plan:
    """The plan's series (`optimiser.evaluate.Plan`) from a `plan_scenario` result."""
    apps = result["appliances"]
    starts: dict[str, int | None] = {}
    line_of: dict[str, str] = {}
    for app in problem.shiftables:
        when = apps[app.id]["start"]
        starts[app.id] = None if when is None else slot_of(problem, when)
        line_of[app.id] = app.line
    for e in problem.energies:
        line_of[e.id] = e.line
    for th in problem.thermals:
        line_of[th.id] = th.line
    kw = {name: np.asarray(item["power_kw"], dtype=float) for name, item in apps.items()}
    stored = {
        name: np.asarray(item["stored_kwh"], dtype=float)
        for name, item in apps.items()
        if "stored_kwh" in item
    }
    bat = result.get("battery")
    zeros = np.zeros(problem.n)
    return Plan(
        starts,
        kw,
        stored,
        zeros.copy() if bat is None else np.asarray(bat["charge_kw"], dtype=float),
        zeros.copy() if bat is None else np.asarray(bat["discharge_kw"], dtype=float),
        zeros.copy() if bat is None else np.asarray(bat["soc_kwh"], dtype=float),
        line_of,
    )


def solve_file(
    path: str | Path, gap: float = 1e-4, time_limit: float = 30.0, lp_path: str | Path | None = None
) -> Solved:
    """Read, validate and plan a scenario file (raises `ScenarioError`, `optimiser.plan.PlanError`)."""
    spec = load_scenario(path)  # one-line errors naming file, key and expectation
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))  # as written, for --compare
    result = plan_scenario(spec, gap=gap, time_limit=time_limit, lp_path=lp_path, source=str(path))
    problem = resolve(spec)
    return Solved(str(path), data, spec, problem, result, plan_from_result(problem, result))
