"""Why the plan is what it is: per appliance, the cost of its chosen start against its cheapest and
earliest alternatives (everything else in the plan kept as planned), and the limits that bind.

The cost of a start is the plan's energy + capacity cost with the program there minus the plan's
cost without the program [currency]; an alternative that would overload a fuse is marked.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from optimiser.evaluate import Plan, capacity_cost, energy_cost, line_currents, net_kw, split_grid
from optimiser.problem import Problem, Shiftable

_TOL_A = 1e-4  #: a line is "at its fuse" within this [A]


def _cost(p: Problem, net: np.ndarray) -> float:
    imp, exp = split_grid(net)
    return energy_cost(p, imp, exp) + capacity_cost(p, imp)[0]


def _capacity(p: Problem, net: np.ndarray) -> tuple[float, list[int]]:
    """The capacity cost of a net import [currency] and each month's step index."""
    cost, months = capacity_cost(p, split_grid(net)[0])
    return cost, [mc.step for mc in months]


def step_label(p: Problem, step: int) -> str:
    """The capacity step ``step`` in words: "5-10 kW", "above 100 kW"."""
    uppers = p.capacity.step_upper_kw if p.capacity else ()
    lower = uppers[step - 1] if 0 < step <= len(uppers) else 0.0
    return f"{lower:g}-{uppers[step]:g} kW" if step < len(uppers) else f"above {lower:g} kW"


def start_options(p: Problem, plan: Plan, app: Shiftable) -> list[dict[str, Any]]:
    """Every start of ``app`` with what the plan would cost with it there, the rest kept as planned.

    ``capacity_extra`` is what the start adds to the capacity cost beyond the chosen start's, and
    ``capacity_step`` the step it lifts a month into (None when it keeps the chosen start's steps).
    """
    own = plan.appliance_kw[app.id]
    net0 = net_kw(p, plan) - own
    cost0 = _cost(p, net0)
    amps0 = line_currents(p, plan)
    coef = p.line_coef(app.line)
    ref_cost, ref_steps = _capacity(p, net0 + own)
    options = []
    for s in app.starts:
        kw = np.array([app.power_at(s, t) for t in range(p.n)])
        fuse_ok = True
        if p.fuse_a is not None:
            for line, c in coef.items():
                amps = amps0[line] - c * own + c * kw
                fuse_ok &= bool(np.all(np.abs(amps) <= p.fuse_a + _TOL_A))
        cap_cost, steps = _capacity(p, net0 + kw)
        lifted = [b for a, b in zip(ref_steps, steps, strict=True) if b > a]
        options.append(
            {
                "slot": s,
                "cost": _cost(p, net0 + kw) - cost0,
                "fuse_ok": fuse_ok,
                "capacity_extra": cap_cost - ref_cost,
                "capacity_step": step_label(p, max(lifted)) if lifted else None,
            }
        )
    return options


def _option(p: Problem, opt: dict[str, Any]) -> dict[str, Any]:
    return {
        "start": p.time_of(opt["slot"]).isoformat(),
        "cost": round(opt["cost"], 4),
        "fuse_ok": opt["fuse_ok"],
    }


def _clock(p: Problem, slot: int) -> str:
    return p.time_of(slot).strftime("%H:%M")


def _shiftable(p: Problem, plan: Plan, app: Shiftable) -> tuple[dict[str, Any], str, str | None]:
    """(JSON, words, the cheapest start the fuse ruled out if it beats the chosen one)."""
    start = plan.starts[app.id]
    if app.fixed_start is not None or start is None or not app.starts:
        return (
            {"running": True},
            f"{app.id}: running since {_clock(p, app.fixed_start or 0)}, kept as is.",
            None,
        )
    options = start_options(p, plan, app)
    chosen = next(o for o in options if o["slot"] == start)
    ruled_out = [o for o in options if not o["fuse_ok"] and o["cost"] < chosen["cost"] - 1e-6]
    fuse_kept = min(ruled_out, key=lambda o: (o["cost"], o["slot"]))["slot"] if ruled_out else None
    cheapest = min(options, key=lambda o: (o["cost"], o["slot"]))
    earliest = min(options, key=lambda o: o["slot"])
    text = f"{app.id}: starts {_clock(p, start)}, costs {chosen['cost']:.2f}"
    if cheapest["slot"] == start or cheapest["cost"] >= chosen["cost"] - 1e-6:
        text += " — the cheapest start given the rest of the plan"
    else:
        why = "would overload a fuse" if not cheapest["fuse_ok"] else "the rest of the plan makes room here"
        if cheapest["capacity_step"]:
            why = f"would lift the month into the capacity step {cheapest['capacity_step']}"
        text += f"; {_clock(p, cheapest['slot'])} would cost {cheapest['cost']:.2f} but {why}"
    if earliest["slot"] != start:
        text += (
            f"; starting at the earliest, {_clock(p, earliest['slot'])}, would cost {earliest['cost']:.2f}"
        )
    info = {"chosen": _option(p, chosen), "cheapest": _option(p, cheapest), "earliest": _option(p, earliest)}
    return info, text + ".", None if fuse_kept is None else f"{app.id} at {_clock(p, fuse_kept)}"


def _flexible(p: Problem, plan: Plan, app_id: str, first: int, end: int) -> tuple[dict[str, Any], str]:
    kw = plan.appliance_kw[app_id]
    kwh = float(kw.sum() * p.h)
    window = p.import_price[first:end] if end > first else p.import_price
    paid = float((kw * p.import_price).sum() * p.h / kwh) if kwh > 0 else 0.0
    info = {
        "energy_kwh": round(kwh, 4),
        "mean_price_paid": round(paid, 4),
        "window_mean_price": round(float(window.mean()), 4),
        "window_min_price": round(float(window.min()), 4),
    }
    text = (
        f"{app_id}: {kwh:.2f} kWh at a mean import price of {paid:.3f} "
        f"(window mean {info['window_mean_price']:.3f}, lowest {info['window_min_price']:.3f})."
    )
    return info, text


def _battery(p: Problem, plan: Plan) -> tuple[dict[str, Any], str]:
    charged = float(plan.charge_kw.sum() * p.h)
    discharged = float(plan.discharge_kw.sum() * p.h)
    buy = float((plan.charge_kw * p.import_price).sum() * p.h / charged) if charged > 0 else 0.0
    sell = float((plan.discharge_kw * p.import_price).sum() * p.h / discharged) if discharged > 0 else 0.0
    info = {
        "charged_kwh": round(charged, 4),
        "discharged_kwh": round(discharged, 4),
        "mean_price_charging": round(buy, 4),
        "mean_price_discharging": round(sell, 4),
    }
    text = (
        f"battery: charges {charged:.2f} kWh when import costs {buy:.3f} on average, "
        f"discharges {discharged:.2f} kWh when it costs {sell:.3f}."
    )
    return info, text


def _fuse_words(p: Problem, plan: Plan, info: dict[str, Any], ruled_out: list[str]) -> list[str]:
    """Per line: over the fuse (a broken rule), at it (it shapes the plan), or one sentence for a
    fuse no slot reaches, naming the starts it ruled out (so it still shaped the plan)."""
    fuse = p.fuse_a or 0.0
    words: list[str] = []
    worst: tuple[float, str] = (0.0, "")
    for line, amps in line_currents(p, plan).items():
        peak = float(np.abs(amps).max())
        worst = max(worst, (peak, line))
        over = [t for t in range(p.n) if abs(amps[t]) > fuse + _TOL_A]
        at = [t for t in range(p.n) if fuse - _TOL_A <= abs(amps[t]) <= fuse + _TOL_A]
        info[line] = {"max_abs_a": round(peak, 3), "slots_at_limit": len(at), "slots_over_limit": len(over)}
        if over:
            words.append(
                f"fuse {line}: over its {fuse:g} A limit in {len(over)} slot(s) from {_clock(p, over[0])}, "
                f"up to {peak:.1f} A: no plan could keep it."
            )
        elif at:
            words.append(
                f"fuse {line}: at its {fuse:g} A limit in {len(at)} slot(s) from {_clock(p, at[0])}; "
                "it shapes the plan there."
            )
    if words:
        return words
    text = f"fuse: at most {worst[0]:.1f} A of {fuse:g} A ({worst[1]}), no slot at the limit"
    if ruled_out:
        return [f"{text}; it rules out {', '.join(ruled_out)} (they would overload it)."]
    return [f"{text}; it does not shape the plan."]


def _limits(p: Problem, plan: Plan, ruled_out: list[str]) -> tuple[dict[str, Any], list[str]]:
    info: dict[str, Any] = {"fuse": {}, "capacity": []}
    words: list[str] = []
    if p.fuse_a is not None:
        words += _fuse_words(p, plan, info["fuse"], ruled_out)
    imp, _ = split_grid(net_kw(p, plan))
    _, months = capacity_cost(p, imp)
    cap = p.capacity
    for month, mc in zip(cap.months if cap else (), months, strict=True):
        upper = cap.step_upper_kw[mc.step] if cap and mc.step < len(cap.step_upper_kw) else None
        margin = None if upper is None else upper - mc.mean_kw
        info["capacity"].append(
            {
                "month": month.days[0].strftime("%Y-%m"),
                "top3_mean_kw": round(mc.mean_kw, 4),
                "step_upper_kw": upper,
                "margin_kw": None if margin is None else round(margin, 4),
                "cost": round(mc.cost, 4),
            }
        )
        limit = "open-ended top step" if upper is None else f"step up to {upper:g} kW"
        binding = margin is not None and margin < 1e-3 * max(upper or 1.0, 1.0)
        words.append(
            f"capacity {month.days[0]:%Y-%m}: mean of the three largest daily peaks {mc.mean_kw:.3f} kW, "
            f"{limit}, costing {mc.cost:.2f} more this month"
            + ("; the plan holds exactly at the threshold (binding)." if binding else ".")
        )
    return info, words


def broken_words(item: dict[str, Any]) -> str:
    """A relaxed rule in words: "6.61 A over its limit" for a fuse, else "broken by 0.5 kWh"."""
    if item["unit"] == "A":
        return f"{item['amount']:.2f} A over its limit"
    return f"broken by {item['amount']:g} {item['unit']}"


PENALTY = "penalty for broken rules"  #: the relaxed rules' part of the objective: not money


#: what an unpriced program's explanation says (the time limit ran out before its starts were priced)
NOT_PRICED = "the time limit ran out before its other starts were priced"


def _unpriced(p: Problem, plan: Plan, app: Shiftable) -> tuple[dict[str, Any], str, None]:
    start = plan.starts[app.id]
    assert start is not None
    return {"not_priced": NOT_PRICED}, f"{app.id}: starts {_clock(p, start)}; {NOT_PRICED}.", None


def explain(p: Problem, plan: Plan, deadline: float | None = None) -> dict[str, Any]:
    """Explanation for the JSON ("explanation" key): per appliance, limits, and the same in words.

    Pricing a program's other starts re-evaluates the plan once per candidate start; past
    `deadline` (a `time.perf_counter()` value) the programs left say they were not priced.
    """
    appliances: dict[str, Any] = {}
    words: list[str] = []
    ruled_out: list[str] = []
    for app in p.shiftables:
        priced = app.fixed_start is None and plan.starts[app.id] is not None and bool(app.starts)
        late = priced and deadline is not None and time.perf_counter() > deadline
        appliances[app.id], text, kept = _unpriced(p, plan, app) if late else _shiftable(p, plan, app)
        words.append(text)
        ruled_out += [kept] if kept else []
    for e in p.energies:
        appliances[e.id], text = _flexible(p, plan, e.id, e.first, e.end)
        words.append(text)
    for th in p.thermals:
        appliances[th.id], text = _flexible(p, plan, th.id, 0, p.n)
        words.append(text)
    if p.battery is not None:
        appliances["battery"], text = _battery(p, plan)
        words.append(text)
    limits, limit_words = _limits(p, plan, ruled_out)
    return {"appliances": appliances, "limits": limits, "text": words + limit_words}
