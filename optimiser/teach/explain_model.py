"""`hems plan --explain`: the model in words, with this scenario's numbers, then the solution and,
for each appliance, what its alternatives would cost.

Written for a class: plain words, units everywhere, every number taken from the scenario, the
built pyomo model (its size) or the planner's result and explanation (`optimiser.explain`).
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pyomo.environ as pyo

from optimiser.evaluate import line_currents
from optimiser.explain import PENALTY, broken_words, start_options
from optimiser.model import build_model
from optimiser.problem import Problem
from optimiser.teach.session import Solved

_MAX_TABLE_ROWS = 24  #: slot table and start lists longer than this are summarised


def clock(p: Problem, slot: int) -> str:
    """Local clock time of the start of `slot` (HH:MM)."""
    return p.time_of(slot).strftime("%H:%M")


def _money(value: float) -> str:
    return f"{value:.2f}"


def _kw(values: Any) -> str:
    return ", ".join(f"{v:g}" for v in values)


def model_size(p: Problem) -> dict[str, int]:
    """Variables (of which yes/no), constraints and capacity steps left to choose from in the model
    the solver gets for `p`."""
    built = build_model(p)
    m = built.model
    variables = list(m.component_data_objects(pyo.Var))
    rows = list(m.component_data_objects(pyo.Constraint, active=True))
    return {
        "variables": len(variables),
        "binaries": sum(1 for v in variables if v.is_binary()),
        "constraints": len(rows),
        "capacity_steps": len(m.step) if hasattr(m, "step") else 0,
    }


def amps_per_kw(p: Problem, line: str) -> str:
    """'4.35 A on L1 per kW' style text for an element on `line`."""
    parts = [f"{c:.2f} A on {name}" for name, c in p.line_coef(line).items()]
    if len(parts) == 3 and len({round(c, 6) for c in p.line_coef(line).values()}) == 1:
        return f"{next(iter(p.line_coef(line).values())):.2f} A on each of L1, L2, L3"
    return " and ".join(parts)


def _variables(p: Problem, steps: int) -> list[str]:
    out = [f"grid: import[t] and export[t] >= 0 [kW] in each of the {p.n} slots."]
    for app in p.shiftables:
        if app.fixed_start is not None:
            out.append(f"{app.id}: already running, so no choice left (not a variable).")
            continue
        starts = ", ".join(clock(p, s) for s in app.starts[:6]) + (" ..." if len(app.starts) > 6 else "")
        out.append(
            f"{app.id}: {len(app.starts)} yes/no variables start[s], one per possible start ({starts}); "
            "exactly one of them is 1."
        )
    for e in p.energies:
        onoff = f", plus yes/no on[t] because it needs at least {e.min_kw:g} kW when on" if e.min_kw else ""
        out.append(
            f"{e.id}: its power [kW] (ev_kw[t] in the LP file), between 0 and {e.max_kw:g} kW, "
            f"in each of the {e.end - e.first} slots of its window{onoff}."
        )
    for th in p.thermals:
        out.append(
            f"{th.id}: yes/no heat_on[t] in each of the {p.n} slots (element on = {th.power_kw:g} kW), "
            "and the heat stored[t] in the tank [kWh] that follows from it."
        )
    if p.battery is not None:
        b = p.battery
        out.append(
            f"battery: charge[t] (0..{b.max_charge_kw:g} kW), discharge[t] (0..{b.max_discharge_kw:g} kW) "
            "and the energy soc[t] stored at the end of each slot [kWh]."
        )
    if p.capacity is not None and steps:
        out.append(
            "capacity tariff: each day's peak [kW] (largest one-hour average import), and "
            f"{steps} yes/no step[j], one per step the month can still land in."
        )
    elif p.capacity is not None:
        out.append(
            "capacity tariff: no variables needed: whatever the plan does, the month stays on the same "
            "step, so its cost is a fixed number."
        )
    return out


def _constraints(p: Problem) -> list[str]:
    h = p.h
    out = [
        "balance, in every slot: import - export = base load - PV + appliances + battery charge "
        "- battery discharge [kW]. Energy in a slot = power x slot length "
        f"({h:g} h).",
    ]
    for app in p.shiftables:
        if app.fixed_start is not None:
            continue
        out.append(
            f"{app.id}: runs once without a pause; power {_kw(app.profile_kw)} kW in the "
            f"{len(app.profile_kw)} slots after its start ({sum(app.profile_kw) * h:.2f} kWh); "
            f"may start at {clock(p, app.first)} at the earliest and must have finished by "
            f"{clock(p, app.end)}."
        )
    for e in p.energies:
        out.append(
            f"{e.id}: must get exactly {e.energy_kwh:g} kWh between {clock(p, e.first)} "
            f"and {clock(p, e.end)}; "
            f"power 0 or between {e.min_kw:g} and {e.max_kw:g} kW (it may pause)."
        )
    for th in p.thermals:
        out.append(
            f"{th.id}: stored heat next slot = stored heat + {th.power_kw:g} kW x {h:g} h when on "
            f"- loss {th.loss_kw:g} kW x {h:g} h - hot water drawn ({float(th.draw_kwh.sum()):.2f} kWh "
            f"over the day); it starts at {th.initial_kwh:g} kWh and must stay between {th.min_kwh:g} "
            f"and {th.capacity_kwh:g} kWh."
        )
    if p.battery is not None:
        b = p.battery
        out.append(
            f"battery: stored energy goes up by {b.efficiency:g} x charge x {h:g} h and down by "
            f"discharge x {h:g} h / {b.efficiency:g} (losses both ways); between 0 and "
            f"{b.capacity_kwh:g} kWh, starting at {b.initial_kwh:g} kWh, at least {b.final_min_kwh:g} kWh "
            "at the end."
        )
    if p.fuse_a is not None:
        out.append(_fuse_words(p))
    if p.capacity is not None:
        cap = p.capacity
        steps = [
            f"up to {u:g} kW: {price:g}" for u, price in zip(cap.step_upper_kw, cap.step_price, strict=False)
        ]
        steps.append(f"above {cap.step_upper_kw[-1]:g} kW: {cap.step_price[-1]:g}")
        for month in cap.months:
            recorded = ", ".join(f"{v:g}" for v in month.recorded_kw) + " kW" if month.recorded_kw else "none"
            out.append(
                f"capacity tariff ({month.days[0]:%Y-%m}): the month's price per step is {'; '.join(steps)}. "
                "The step is chosen by the mean of the three largest daily peaks; peaks already recorded "
                f"this month: {recorded} (their step costs {cap.base_price(month):g}). Only a step "
                "higher than that costs extra."
            )
    return out


def _fuse_words(p: Problem) -> str:
    fuse = p.fuse_a or 0.0
    v = p.voltage_v
    if p.network == "1P":
        limit = f"at most {fuse * v / 1000:.2f} kW in total ({fuse:g} A x {v:g} V)"
    elif p.network == "TN":
        limit = (
            f"that is {fuse * v / 1000:.2f} kW on one line ({fuse:g} A x {v:g} V), "
            f"{3 * fuse * v / 1000:.2f} kW if spread evenly over all three"
        )
    else:
        limit = (
            f"IT network ({v:g} V between lines): a two-line appliance draws {1000 / v:.2f} A per kW "
            "on both of its lines"
        )
    return (
        f"main fuse: at most {fuse:g} A on every line in every slot; {limit}. "
        f"Base load and PV are spread over all lines ({amps_per_kw(p, '3P')} per kW)."
    )


def _objective(p: Problem) -> list[str]:
    price = p.import_price
    lo, hi = int(np.argmin(price)), int(np.argmax(price))
    out = [
        "minimise energy cost = sum over slots of "
        f"(import x import price - export x export price) x {p.h:g} h",
        f"  import price from {price[lo]:.3f} per kWh (at {clock(p, lo)}) to {price[hi]:.3f} per kWh "
        f"(at {clock(p, hi)}); mean {float(price.mean()):.3f}.",
    ]
    if np.any(p.export_price):
        out.append(
            f"  export price from {float(p.export_price.min()):.3f} "
            f"to {float(p.export_price.max()):.3f} per kWh."
        )
    if p.capacity is not None:
        out.append("  + capacity cost = price of the month's step - price of the step already reached.")
    out.append("Nothing else counts: no comfort bonus, no hidden penalty (unless a rule had to be broken).")
    return out


def _slot_table(s: Solved) -> list[str]:
    """One row per slot: price, base, PV, each appliance's power, heat in each tank, grid."""
    p, r = s.problem, s.result
    names = list(r["appliances"])
    tanks = [n for n in names if "stored_kwh" in r["appliances"][n]]
    fixed = 5 + 7 + 6 + 6 + 1 + 6 * len(tanks) + 14  # time, price, base, PV, tanks, import, export
    widths = [max(8, len(n)) for n in names]
    if fixed + sum(w + 1 for w in widths) > 77:  # too wide for 80 columns: shorten, and say how
        widths = [8] * len(names)
    heads = [n if len(n) <= w else n[: w - 1] + "~" for n, w in zip(names, widths, strict=True)]
    head = f"{'time':>5} {'price':>6} {'base':>5} {'PV':>5} "
    head += " ".join(f"{h:>{w}}" for h, w in zip(heads, widths, strict=True))
    head += "".join(f" {'tank':>5}" for _ in tanks) + f" {'import':>6} {'export':>6}"
    units = "      /kWh    kW    kW " + " ".join(f"{'kW':>{w}}" for w in widths)
    out = [head, units + "".join(f" {'kWh':>5}" for _ in tanks) + "     kW     kW"]
    for t in range(p.n):
        row = f"{clock(p, t):>5} {p.import_price[t]:6.3f} {p.base_kw[t]:5.2f} {p.pv_kw[t]:5.2f} "
        row += " ".join(
            f"{r['appliances'][n]['power_kw'][t]:{w}.2f}" for n, w in zip(names, widths, strict=True)
        )
        row += "".join(f" {r['appliances'][n]['stored_kwh'][t]:5.2f}" for n in tanks)
        row += f" {r['grid']['import_kw'][t]:6.2f} {r['grid']['export_kw'][t]:6.2f}"
        out.append(row)
    if tanks:
        out.append("(tank: heat stored at the end of the slot)")
    cut = [f"{h} = {n}" for h, n in zip(heads, names, strict=True) if h != n]
    if cut:
        out += textwrap.wrap(f"(columns: {', '.join(cut)})", 77)
    return out


def _alternatives(s: Solved) -> list[str]:
    p, plan = s.problem, s.plan
    out: list[str] = []
    for app in p.shiftables:
        chosen = plan.starts.get(app.id)
        if app.fixed_start is not None or chosen is None or not app.starts:
            continue
        options = start_options(p, plan, app)
        out.append(f"{app.id}: what each start would cost (everything else kept as planned):")
        if len(options) > _MAX_TABLE_ROWS:
            options = sorted(options, key=lambda o: (o["cost"], o["slot"]))[:5] + [
                o for o in options if o["slot"] in (chosen, app.starts[0])
            ]
            options = sorted({o["slot"]: o for o in options}.values(), key=lambda o: o["slot"])
            out.append(f"  ({len(app.starts)} starts; the five cheapest, the earliest and the chosen one)")
        for o in options:
            mark = "  <- chosen" if o["slot"] == chosen else ""
            why = "" if o["fuse_ok"] else "  (would overload the fuse)"
            if o["capacity_step"]:  # the reason a neighbouring start costs a month's step more
                why += f"  (into capacity step {o['capacity_step']}: +{_money(o['capacity_extra'])})"
            out.append(f"  start {clock(p, o['slot'])}: {_money(o['cost']):>8}{why}{mark}")
    return out


def _status_words(r: dict[str, Any]) -> str:
    gap = f"{r['mip_gap'] * 100:.2g} %"
    if r["status"] == "optimal" and r["mip_gap"] == 0:
        return "the solver proved that no plan is cheaper."
    if r["status"] == "optimal":
        return f"the solver proved that no plan is cheaper by more than {gap}."
    if r["status"] == "time_limit":
        return f"time ran out; a better plan may exist, at most {gap} cheaper."
    return "not every rule could hold; the plan breaks as few as it can (below)."


def explain_model(s: Solved) -> str:
    """The whole `--explain` text for a solved scenario."""
    p, r = s.problem, s.result
    size = model_size(p)
    first, last = p.times[0], p.time_of(p.n)
    lines = [
        f"THE MODEL IN WORDS: {s.source}",
        f"{p.n} slots of {p.h * 60:g} min, from {first:%a %d %b %Y %H:%M} to "
        f"{last:%H:%M}" + (f" on {last:%a %d %b}" if last.date() != first.date() else "") + " "
        f"({first.tzinfo}). Power in kW, energy in kWh, money in the scenario's currency.",
        "",
        "1. Decision variables: what the solver may choose",
        *[f"   - {text}" for text in _variables(p, size["capacity_steps"])],
        f"   In total: {size['variables']} variables, {size['binaries']} of them yes/no (0 or 1). "
        "Yes/no variables make this a MILP (mixed-integer linear program).",
        "",
        "2. Constraints: rules every plan must keep",
        *[f"   - {text}" for text in _constraints(p)],
        f"   In total: {size['constraints']} constraints (see them all with --lp FILE).",
        "",
        "3. Objective: what 'best' means",
        *[f"   {text}" for text in _objective(p)],
        "",
        "4. The solution",
        f"   status: {r['status']}: {_status_words(r)}",
        f"   cost: {_money(r['objective'])} = energy {_money(r['energy_cost'])} "
        f"+ capacity {_money(r['capacity_cost'])}"
        + (f" + {PENALTY} {_money(sum(x['cost'] for x in r['relaxed']))} (not money)" if r["relaxed"] else "")
        + (f" + moved starts {_money(r['stability_cost'])}" if r.get("stability_cost") else ""),
    ]
    for item in r["relaxed"]:
        lines.append(
            f"   RULE BROKEN {item['rule']}: {broken_words(item)} (penalty {item['cost']:.2f}); "
            "no plan could keep every rule."
        )
    if p.fuse_a is not None:
        amps = line_currents(p, s.plan)
        worst = max(amps, key=lambda line: float(np.abs(amps[line]).max()))
        lines.append(
            f"   highest line current: {float(np.abs(amps[worst]).max()):.1f} A on {worst} "
            f"(fuse {p.fuse_a:g} A)"
        )
    if p.n <= _MAX_TABLE_ROWS:
        lines += ["", *[f"   {row}" for row in _slot_table(s)]]
    lines += ["", "5. Each appliance and its alternatives"]
    lines += [f"   {text}" for text in _alternatives(s)]
    lines += [f"   {text}" for text in r["explanation"]["text"]]
    return "\n".join(wrap(line) for line in lines)


def wrap(line: str, width: int = 79) -> str:
    """Wrap one line of text for an 80-column terminal, continuing under its bullet or indent."""
    if len(line) <= width:
        return line
    indent = len(line) - len(line.lstrip(" "))
    bullet = line.lstrip(" ")
    extra = 2 if bullet.startswith("- ") else 0
    return textwrap.fill(line, width, subsequent_indent=" " * (indent + extra), break_on_hyphens=False)
