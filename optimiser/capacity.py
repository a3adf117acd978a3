"""The Norwegian stepped capacity tariff ("kapasitetsledd") as MILP rows.

Per calendar month g of the horizon (site time zone):

- day peak ``peak[g,d] >= mean import of each clock hour of day d`` (hours cut by the horizon use
  only their slots inside; the first day also ``>= today_peak_kw``),
- the sum of the three largest of {recorded peaks} ∪ {day peaks} by the LP "sum of k largest" form
  ``S = 3·kth + Σ_i r_i·above_i``, ``above_i >= value_i − kth``, ``above_i, kth >= 0`` (exact under
  minimisation, no binaries, one value per day so "three different days" is automatic; ``r_i`` is
  1 for a recorded peak and ``peak_repeats`` for a day of the horizon: a value counted r times),
- one step chosen by a multiple-choice (SOS1-like) set ``Σ_j z_j = 1``, ``3·Σ_j z_j·upper_j >= S``,
  cost ``Σ_j z_j·(price_j − price of the recorded peaks alone)``. Its LP relaxation is the convex
  envelope of the staircase. Steps the month can no longer reach (below the recorded peaks, above
  what the fuse and bounds allow) and steps with an equal price are dropped; when only one step is
  left, the cost is a constant and no peak rows are built at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyomo.core as pyo  # not pyomo.environ: its 30 plugin packages cost 0.1 s per plan

from optimiser.problem import Capacity, Month, top3_mean

if TYPE_CHECKING:
    from optimiser.model import Built


def reachable_steps(cap: Capacity, month: Month, low_kw: float, high_kw: float) -> list[tuple[float, float]]:
    """(upper bound [kW], price) of the steps a month's top-three mean in [low, high] can land in,
    equal-priced neighbours merged; the last upper bound is `high` itself."""
    j0, j1 = cap.step_index(low_kw), cap.step_index(high_kw)
    steps: list[tuple[float, float]] = []
    for j in range(j0, j1 + 1):
        upper = high_kw if j == j1 else cap.step_upper_kw[j]
        price = cap.step_price[j]
        if steps and steps[-1][1] == price:
            steps[-1] = (upper, price)
        else:
            steps.append((upper, price))
    return steps


def _month_bounds(b: Built, month: Month) -> tuple[list[float], float, float]:
    """Upper bound of each day's peak [kW], and bounds of the month's top-three mean [kW]."""
    assert b.max_kw is not None
    day_ub = [
        max(
            [month.first_day_floor_kw if d == 0 else 0.0]
            + [sum(b.max_kw[t] for t in hr) / len(hr) for hr in hours]
        )
        for d, hours in enumerate(month.hours)
    ]
    r = b.problem.capacity.peak_repeats if b.problem.capacity is not None else 1
    low = top3_mean([*month.recorded_kw, *[month.first_day_floor_kw] * r])
    high = top3_mean([*month.recorded_kw, *day_ub * r])
    return day_ub, low, high


def define_capacity(b: Built) -> None:
    """Day peaks, sum of the three largest, step choice; adds the step cost to the objective."""
    m, p = b.model, b.problem
    cap = p.capacity
    if cap is None:
        return
    day_index: list[tuple[int, int]] = []
    rec_index: list[tuple[int, int]] = []
    step_index: list[tuple[int, int]] = []
    day_ub: dict[tuple[int, int], float] = {}
    steps: dict[int, list[tuple[float, float]]] = {}
    for g, month in enumerate(cap.months):
        ubs, low, high = _month_bounds(b, month)
        steps[g] = reachable_steps(cap, month, low, high)
        base = cap.base_price(month)
        if len(steps[g]) == 1:  # the step cannot change: a constant
            b.objective_terms.append(steps[g][0][1] - base)
            continue
        for d, ub in enumerate(ubs):
            day_index.append((g, d))
            day_ub[g, d] = ub
        rec_index += [(g, r) for r in range(len(month.recorded_kw))]
        step_index += [(g, j) for j in range(len(steps[g]))]
    months = sorted({g for g, _ in step_index})
    floor = {g: cap.months[g].first_day_floor_kw for g in months}
    m.day_peak = pyo.Var(
        day_index, bounds=lambda m, g, d: (floor[g] if d == 0 else 0.0, max(day_ub[g, d], floor[g]))
    )
    hour_index = [(g, d, k) for g, d in day_index for k in range(len(cap.months[g].hours[d]))]

    def hour_rule(m: pyo.ConcreteModel, g: int, d: int, k: int) -> object:
        slots = cap.months[g].hours[d][k]
        return m.day_peak[g, d] >= sum(m.imp[t] for t in slots) / len(slots)

    m.hour_peak = pyo.Constraint(hour_index, rule=hour_rule)
    m.kth = pyo.Var(months, domain=pyo.NonNegativeReals)
    m.day_above = pyo.Var(day_index, domain=pyo.NonNegativeReals)
    m.rec_above = pyo.Var(rec_index, domain=pyo.NonNegativeReals)
    m.day_above_def = pyo.Constraint(
        day_index, rule=lambda m, g, d: m.day_above[g, d] >= m.day_peak[g, d] - m.kth[g]
    )
    m.rec_above_def = pyo.Constraint(
        rec_index, rule=lambda m, g, r: m.rec_above[g, r] >= cap.months[g].recorded_kw[r] - m.kth[g]
    )
    m.step = pyo.Var(step_index, domain=pyo.Binary)
    m.one_step = pyo.Constraint(
        months, rule=lambda m, g: sum(m.step[g, j] for j in range(len(steps[g]))) == 1
    )

    def fits(m: pyo.ConcreteModel, g: int) -> object:
        top3 = (
            3 * m.kth[g]
            + sum(cap.peak_repeats * m.day_above[g, d] for gg, d in day_index if gg == g)
            + sum(m.rec_above[g, r] for gg, r in rec_index if gg == g)
        )
        b.top3_sum[g] = top3
        return 3 * sum(upper * m.step[g, j] for j, (upper, _) in enumerate(steps[g])) >= top3

    m.step_fits = pyo.Constraint(months, rule=fits)
    for g in months:
        base = cap.base_price(cap.months[g])
        b.objective_terms.append(sum((price - base) * m.step[g, j] for j, (_, price) in enumerate(steps[g])))
        b.step_cost.update({(g, j): price - base for j, (_, price) in enumerate(steps[g])})
        b.step_upper.update({(g, j): upper for j, (upper, _) in enumerate(steps[g])})
