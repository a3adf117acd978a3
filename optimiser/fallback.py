"""A plan that keeps the fuse when the search is cut short (issue 23).

Early in a hard search HiGHS's best plan may still break the fuse (its relaxation is priced, not
forbidden) although a plan keeping every rule exists. When the time limit stops the search, the
planner places each program greedily — largest first, at the cheapest start where the main fuse
holds beside the base load and the programs placed before it — fixes those starts, and solves what
is left (EV, water heater, battery, the capacity steps), a far smaller problem. The better of the
two plans is kept; the search's bound still says how far from proven it is.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from optimiser.model import Built, base_line_current
from optimiser.problem import Problem
from optimiser.solve import Outcome, gap_of, solve_model


def greedy_starts(p: Problem) -> dict[int, int]:
    """Program index → start slot: the fewest fuse-amperes over, then the fewest hours outside the
    window, then the cheapest energy; programs placed largest first."""
    placed = {line: current.copy() for line, current in base_line_current(p).items()}
    fuse = p.fuse_a
    choice: dict[int, int] = {}
    order = sorted(range(len(p.shiftables)), key=lambda a: -sum(p.shiftables[a].profile_kw))
    for a in order:
        app = p.shiftables[a]
        if not app.starts or app.fixed_start is not None:
            continue
        coef = p.line_coef(app.line)
        best: tuple[tuple[float, float, float], int, np.ndarray] | None = None
        for i, s in enumerate(app.starts):
            kw = np.zeros(p.n)
            for k, value in enumerate(app.profile_kw):
                if 0 <= s + k < p.n:
                    kw[s + k] = value
            over = 0.0
            if fuse is not None:
                over = sum(
                    float(np.maximum(np.abs(placed[line] + c * kw) - fuse, 0.0).sum())
                    for line, c in coef.items()
                )
            key = (round(over, 6), app.outside_h[i], float((p.import_price * kw).sum()) * p.h)
            if best is None or key < best[0]:
                best = (key, s, kw)
        assert best is not None
        choice[a] = best[1]
        for line, c in coef.items():
            placed[line] += c * best[2]
    return choice


def _values(built: Built) -> list[tuple[Any, Any]]:
    import pyomo.core as pyo

    return [(v, v.value) for v in built.model.component_data_objects(pyo.Var)]


def improve_cut_short(built: Built, outcome: Outcome, gap: float, deadline: float) -> Outcome:
    """``outcome`` of a search the clock stopped, or the greedy-fixed plan when that is better."""
    m, p = built.model, built.problem
    if not p.shiftables or not hasattr(m, "start") or time.perf_counter() >= deadline:
        return outcome
    searched = _values(built) if outcome.objective is not None else None
    starts = greedy_starts(p)
    fixed = []
    for (a, s), var in m.start.items():
        if a in starts and not var.fixed:
            var.fix(1.0 if s == starts[a] else 0.0)
            fixed.append(var)
    for (gi, s), var in m.count.items():  # identical programs: how many of them start at s
        if not var.fixed:
            var.fix(float(sum(1 for a in built.groups[gi] if starts.get(a) == s)))
            fixed.append(var)
    try:
        quick = solve_model(built, gap=gap, time_limit=max(deadline - time.perf_counter(), 0.05))
    finally:
        for var in fixed:
            var.unfix()
    better = quick.objective is not None and (
        outcome.objective is None or quick.objective < outcome.objective
    )
    if not better:
        if searched is not None:
            for var, value in searched:
                var.set_value(value, skip_validation=True)
        return outcome
    assert quick.objective is not None
    bound = outcome.bound if outcome.bound is not None else quick.bound
    return Outcome(
        "time_limit",
        quick.objective,
        bound,
        gap_of(quick.objective, bound),
        outcome.solve_seconds + quick.solve_seconds,
        outcome.highs_seconds + quick.highs_seconds,
        outcome.nodes + quick.nodes,
    )
