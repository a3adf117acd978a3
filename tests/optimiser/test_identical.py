"""Identical programs share one integer per candidate start (how many of them start there) instead
of a binary each: the same best plan, each program its own start, and every rule kept."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from checker import check_plan

import optimiser.model
from optimiser.model import identical_groups
from optimiser.plan import plan_scenario
from optimiser.problem import resolve
from optimiser.scenario import parse_scenario

EXAMPLES = Path(__file__).parents[2] / "examples" / "scenarios"


def evening(n_same: int) -> dict[str, Any]:
    """The winter house with ``n_same`` identical programs on L1 between 17:00 and midnight, one
    that differs only by its line, and one by its profile."""
    scenario = tomllib.loads((EXAMPLES / "norway_winter.toml").read_text(encoding="utf-8"))
    window = {"earliest_start": "2026-01-15T17:00:00+01:00", "latest_end": "2026-01-16T00:00:00+01:00"}
    same = {"kind": "shiftable", "profile_kw": [2.0, 1.5, 0.5], "line": "L1", **window}
    scenario["appliance"] = [
        *({"id": f"same{i}", **same} for i in range(n_same)),
        {"id": "other-line", **same, "line": "L2"},
        {"id": "other-profile", **same, "profile_kw": [2.0, 1.5, 0.6]},
    ]
    scenario.pop("battery", None)
    return scenario


def test_only_programs_told_apart_by_their_ids_are_grouped() -> None:
    problem = resolve(parse_scenario(evening(4)))
    ids = [[problem.shiftables[a].id for a in g] for g in identical_groups(problem)]
    assert ids == [["same0", "same1", "same2", "same3"]]


def test_the_same_best_plan_as_one_binary_each(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = evening(5)
    grouped = plan_scenario(scenario, gap=0.0, time_limit=60.0)
    monkeypatch.setattr(optimiser.model, "identical_groups", lambda p: [])
    single = plan_scenario(scenario, gap=0.0, time_limit=60.0)
    assert grouped["status"] == single["status"] == "optimal"
    assert grouped["objective"] == pytest.approx(single["objective"], abs=1e-4)
    assert check_plan(scenario, grouped) == []  # the independent checker: fuse, windows, energy
    starts = [grouped["appliances"][f"same{i}"]["start"] for i in range(5)]
    assert all(s is not None for s in starts) and starts == sorted(starts)  # earliest to the first
    assert len(Counter(starts)) > 1  # not all at once: the evening's fuse and prices spread them
