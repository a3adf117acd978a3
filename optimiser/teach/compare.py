"""`hems plan --compare A.toml B.toml`: what changed between two scenarios, and why the plan moved.

Students change one thing (a price, a fuse, a window) and see the effect. Inputs are compared as
the TOML files say them; plans through the planner's results. A moved start is explained with the
planner's own pricing of alternatives (`optimiser.explain`): what the old start would cost in B and
what the new start would have cost in A (and whether a fuse forbade it there).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from optimiser.explain import broken_words, start_options
from optimiser.problem import Problem
from optimiser.teach.explain_model import wrap
from optimiser.teach.session import Solved, slot_of

_SHOW = 6  #: changed slots listed per series before "and N more"


def _fmt(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list) and len(value) > 8:
        return f"[{len(value)} values]"
    return str(value)


def _series_change(p: Problem, key: str, a: list[float], b: list[float]) -> str:
    if len(a) != len(b):
        return f"{key}: {len(a)} values -> {len(b)} values"
    changed = [t for t in range(len(a)) if abs(a[t] - b[t]) > 1e-12]
    if not changed:
        return ""
    shown = ", ".join(f"{p.time_of(t):%H:%M} {a[t]:g} -> {b[t]:g}" for t in changed[:_SHOW])
    more = f", and {len(changed) - _SHOW} more" if len(changed) > _SHOW else ""
    return f"{key}: {len(changed)} slot(s) changed: {shown}{more}"


def _table_changes(prefix: str, a: dict[str, Any], b: dict[str, Any], p: Problem) -> list[str]:
    out = []
    for key in [*a, *(k for k in b if k not in a)]:
        va, vb = a.get(key), b.get(key)
        if va == vb:
            continue
        name = f"{prefix}{key}"
        per_slot = name.startswith("series.") or key == "draw_kwh"
        if per_slot and isinstance(va, list) and isinstance(vb, list):
            text = _series_change(p, name, [float(x) for x in va], [float(x) for x in vb])
            if text:
                out.append(text)
        elif isinstance(va, dict) or isinstance(vb, dict):
            if va is None or vb is None:
                out.append(f"{name}: {'added' if va is None else 'taken out'}")
            out += _table_changes(f"{name}.", va or {}, vb or {}, p)
        else:
            out.append(f"{name}: {_fmt(va)} -> {_fmt(vb)}")
    return out


def input_changes(a: Solved, b: Solved) -> list[str]:
    """What differs between the two scenario files, one line per key (series: per changed slot)."""
    da, db = dict(a.data), dict(b.data)
    apps_a = {x["id"]: x for x in da.pop("appliance", [])}
    apps_b = {x["id"]: x for x in db.pop("appliance", [])}
    out = _table_changes("", da, db, a.problem)
    for name in apps_a.keys() - apps_b.keys():
        out.append(f"appliance {name}: removed")
    for name in apps_b.keys() - apps_a.keys():
        out.append(f"appliance {name}: added ({apps_b[name]['kind']})")
    for name in apps_a.keys() & apps_b.keys():
        out += _table_changes(f"appliance {name}: ", apps_a[name], apps_b[name], a.problem)
    return out


def _options_by_time(s: Solved, app_id: str) -> dict[str, dict[str, Any]]:
    app = next(x for x in s.problem.shiftables if x.id == app_id)
    if app.fixed_start is not None or not app.starts or s.plan.starts.get(app_id) is None:
        return {}
    options = start_options(s.problem, s.plan, app)
    return {s.problem.time_of(o["slot"]).isoformat(): o for o in options}


def _key(s: Solved, when: str) -> str:
    return s.problem.time_of(slot_of(s.problem, when)).isoformat()


def _moved(a: Solved, b: Solved, app_id: str) -> list[str]:
    start_a, start_b = a.result["appliances"][app_id]["start"], b.result["appliances"][app_id]["start"]
    ta, tb = a.problem.time_of(slot_of(a.problem, start_a)), b.problem.time_of(slot_of(b.problem, start_b))
    if ta == tb:
        return [f"{app_id}: still starts at {ta:%H:%M}."]
    hours = (tb - ta).total_seconds() / 3600
    out = [
        f"{app_id}: start moved {ta:%H:%M} -> {tb:%H:%M} "
        f"({abs(hours):g} h {'later' if hours > 0 else 'earlier'})."
    ]
    in_a, in_b = _options_by_time(a, app_id), _options_by_time(b, app_id)
    old_b, new_b = in_b.get(_key(b, start_a)), in_b.get(_key(b, start_b))
    if new_b is not None:
        if old_b is None:
            out.append(f"  In B the old start {ta:%H:%M} is not allowed any more (outside its window).")
        elif not old_b["fuse_ok"]:
            out.append(f"  In B the old start {ta:%H:%M} would overload the fuse.")
        else:
            out.append(
                f"  In B the old start {ta:%H:%M} would cost {old_b['cost']:.2f}, the new one costs "
                f"{new_b['cost']:.2f}: {old_b['cost'] - new_b['cost']:.2f} cheaper."
            )
    old_a, new_a = in_a.get(_key(a, start_a)), in_a.get(_key(a, start_b))
    if old_a is not None:
        if new_a is None:
            out.append(f"  In A the new start {tb:%H:%M} was not allowed (outside its window).")
        elif not new_a["fuse_ok"]:
            out.append(f"  In A the new start {tb:%H:%M} would have overloaded the fuse.")
        else:
            out.append(
                f"  In A the new start {tb:%H:%M} would have cost {new_a['cost']:.2f} against "
                f"{old_a['cost']:.2f} for the old one."
            )
    return out


def _flexible(a: Solved, b: Solved, app_id: str) -> list[str]:
    ia, ib = a.result["explanation"]["appliances"][app_id], b.result["explanation"]["appliances"][app_id]
    ka = np.asarray(a.result["appliances"][app_id]["power_kw"])
    kb = np.asarray(b.result["appliances"][app_id]["power_kw"])
    on_a = [a.problem.time_of(int(t)).strftime("%H:%M") for t in np.flatnonzero(ka > 1e-6)]
    on_b = [b.problem.time_of(int(t)).strftime("%H:%M") for t in np.flatnonzero(kb > 1e-6)]
    text = (
        f"{app_id}: {ia['energy_kwh']:g} kWh at a mean price of {ia['mean_price_paid']:.3f} -> "
        f"{ib['energy_kwh']:g} kWh at {ib['mean_price_paid']:.3f} per kWh"
    )
    if on_a == on_b:
        return [text + "; on in the same slots."]
    gone = [x for x in on_a if x not in on_b]
    new = [x for x in on_b if x not in on_a]
    return [
        text + ".",
        f"  slots no longer used: {', '.join(gone[:8]) or 'none'}{' ...' if len(gone) > 8 else ''}; "
        f"new slots: {', '.join(new[:8]) or 'none'}{' ...' if len(new) > 8 else ''}.",
    ]


def _cost_line(name: str, a: float, b: float) -> str:
    return f"{name}: {a:.2f} -> {b:.2f} ({b - a:+.2f})"


def compare(a: Solved, b: Solved) -> str:
    """The whole `--compare` text: inputs that changed, costs, each appliance, the limits."""
    ra, rb = a.result, b.result
    lines = [
        f"COMPARE  A: {a.source}",
        f"         B: {b.source}",
        "",
        "What changed in the scenario (A -> B):",
    ]
    changes = input_changes(a, b)
    lines += [f"   - {text}" for text in changes] or ["   - nothing: the two scenarios are the same."]
    lines += ["", "What changed in the plan:"]
    pen_a, pen_b = (sum(x["cost"] for x in r["relaxed"]) for r in (ra, rb))
    objective = _cost_line("objective", ra["objective"], rb["objective"])
    said = [
        f"{n}'s includes a penalty of {v:.2f} for broken rules" for n, v in (("A", pen_a), ("B", pen_b)) if v
    ]
    if said:  # the objective is not money when a rule had to give way: say so, and give the money
        objective = objective[:-1] + f"; {' and '.join(said)}, not money)"
    lines += [f"   {objective}"]
    if said:
        money_a = ra["energy_cost"] + ra["capacity_cost"]
        lines.append(f"   {_cost_line('money', money_a, rb['energy_cost'] + rb['capacity_cost'])}")
    lines += [f"   {_cost_line(k, ra[k], rb[k])}" for k in ("energy_cost", "capacity_cost")]
    if ra["status"] != rb["status"]:
        lines.append(f"   status: {ra['status']} -> {rb['status']}")
    for name, r in (("A", ra), ("B", rb)):
        for item in r["relaxed"]:
            lines.append(f"   in {name} the rule {item['rule']} had to be broken: {broken_words(item)}.")
    common = [x for x in ra["appliances"] if x in rb["appliances"]]
    shiftable = {x.id for x in b.problem.shiftables} & {x.id for x in a.problem.shiftables}
    for app_id in common:
        if app_id in shiftable and ra["appliances"][app_id]["start"] and rb["appliances"][app_id]["start"]:
            lines += [f"   {t}" for t in _moved(a, b, app_id)]
        elif app_id not in shiftable:
            try:
                lines += [f"   {t}" for t in _flexible(a, b, app_id)]
            except KeyError:
                continue
    lines += ["", "Limits in A:", *[f"   {t}" for t in _limit_words(ra)]]
    lines += ["Limits in B:", *[f"   {t}" for t in _limit_words(rb)]]
    return "\n".join(wrap(line) for line in lines)


def _limit_words(result: dict[str, Any]) -> list[str]:
    words = [t for t in result["explanation"]["text"] if t.startswith(("fuse ", "fuse:", "capacity "))]
    return words or ["no fuse and no capacity tariff in this scenario."]
