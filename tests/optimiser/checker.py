"""An independent checker of `hems plan --json` output, written from docs/scenario-format.md alone.

It does not import the optimiser: from the scenario (the TOML as a dict) and the printed plan JSON
it recomputes the energy and capacity cost and checks every rule of the contract. A rule the plan
breaks must be listed in `relaxed`. `check_plan` returns the list of problems (empty = valid).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

TOL = 1e-4


def _dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _step_price(uppers: list[float], prices: list[float], x: float) -> float:
    for upper, price in zip(uppers, prices, strict=False):
        if upper >= x - 1e-9:
            return price
    return prices[-1]


def _mean_top3(values: list[float]) -> float:
    return sum(sorted([*values, 0.0, 0.0, 0.0], reverse=True)[:3]) / 3


def _amps(network: str, voltage: float, line: str, kw: float) -> dict[str, float]:
    """Contract: TN/1P single phase P/V; TN 3P P/(3V); IT pair P/V on both; IT 3P P/(√3·V)."""
    w = kw * 1000.0
    if network == "1P":
        return {"L1": w / voltage}
    line = line.upper()
    if line == "3P":
        per = w / (3 * voltage) if network == "TN" else w / (math.sqrt(3) * voltage)
        return {"L1": per, "L2": per, "L3": per}
    if network == "TN":
        return {line: w / voltage}
    return {line[:2]: w / voltage, line[2:]: w / voltage}


def capacity_cost(scenario: dict[str, Any], imports: list[float]) -> float:
    """Capacity cost by the contract's words, from the slot imports [kW]."""
    cap = scenario.get("capacity_tariff")
    if cap is None:
        return 0.0
    horizon, tz = scenario["horizon"], ZoneInfo(scenario["site"]["timezone"])
    start, minutes = _dt(horizon["start"]), horizon["slot_minutes"]
    months: dict[tuple[int, int], dict[Any, dict[Any, list[float]]]] = {}
    for k, kw in enumerate(imports):
        local = (start + timedelta(minutes=minutes * k)).astimezone(tz)
        hour = (local.hour, local.utcoffset())  # the repeated hour of autumn is a second clock hour
        months.setdefault((local.year, local.month), {}).setdefault(local.date(), {}).setdefault(
            hour, []
        ).append(kw)
    uppers, prices = cap["step_upper_kw"], cap["step_price"]
    total = 0.0
    for g, days in enumerate(months.values()):
        recorded = list(cap.get("month_peaks_kw", [])) if g == 0 else []
        peaks = []
        for d, hours in enumerate(days.values()):
            peak = max(sum(v) / len(v) for v in hours.values())
            if g == 0 and d == 0:
                peak = max(peak, cap.get("today_peak_kw", 0.0))
            peaks.append(peak)
        before = _step_price(uppers, prices, _mean_top3(recorded))
        repeats = int(cap.get("peak_repeats", 1))  # each planned day's peak counted this many times
        total += _step_price(uppers, prices, _mean_top3(recorded + peaks * repeats)) - before
    return total


def check_plan(scenario: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    """Every violation of the contract by `plan` (the JSON of `hems plan --json`) for `scenario`."""
    bad: list[str] = []
    n, minutes = scenario["horizon"]["slots"], scenario["horizon"]["slot_minutes"]
    h, start = minutes / 60, _dt(scenario["horizon"]["start"])
    site, series = scenario["site"], scenario["series"]
    network, volts, fuse = site["network"], site["voltage_v"], site.get("main_fuse_a")
    relaxed = {r["rule"] for r in plan["relaxed"]}
    if plan["status"] not in ("optimal", "time_limit", "relaxed") or (plan["status"] == "relaxed") != bool(
        relaxed
    ):
        bad.append(f"status {plan['status']} with relaxed {sorted(relaxed)}")
    times = [_dt(s) for s in plan["slots"]]
    if len(times) != n or any(t != start + timedelta(minutes=minutes * k) for k, t in enumerate(times)):
        bad.append("slots are not the horizon's slot starts")
    imp, exp = plan["grid"]["import_kw"], plan["grid"]["export_kw"]
    pi, base = series["import_price_per_kwh"], series["base_load_kw"]
    pe, pv = series.get("export_price_per_kwh", [0.0] * n), series.get("pv_kw", [0.0] * n)
    load = [base[t] - pv[t] for t in range(n)]
    currents = {line: [0.0] * n for line in ("L1", "L2", "L3")}
    for t in range(n):
        for line, a in _amps(network, volts, "3P", base[t] - pv[t]).items():
            currents[line][t] += a

    def element(line: str, kw: list[float]) -> None:
        for t in range(n):
            load[t] += kw[t]
            for name, a in _amps(network, volts, line, kw[t]).items():
                currents[name][t] += a

    for app in scenario.get("appliance", []):
        out, kind, aid = plan["appliances"][app["id"]], app["kind"], app["id"]
        kw = out["power_kw"]
        if len(kw) != n:
            bad.append(f"{aid}: power_kw has {len(kw)} values")
            continue
        element(app.get("line", "3P"), kw)
        if kind == "shiftable":
            s = round((_dt(out["start"]) - start).total_seconds() / 60 / minutes)
            want = [
                app["profile_kw"][t - s] if 0 <= t - s < len(app["profile_kw"]) else 0.0 for t in range(n)
            ]
            if any(abs(a - b) > TOL for a, b in zip(kw, want, strict=True)):
                bad.append(f"{aid}: power is not the profile started at {out['start']}")
            begin, end = (
                _dt(out["start"]),
                _dt(out["start"]) + timedelta(minutes=minutes * len(app["profile_kw"])),
            )
            windows = [(app["earliest_start"], app["latest_end"]), *app.get("extra_windows", [])]
            inside = any(_dt(w0) <= begin and end <= _dt(w1) for w0, w1 in windows)  # project key
            inside = inside and 0 <= s <= n - len(app["profile_kw"])
            if "started" not in app and not inside and f"{aid}.window" not in relaxed:
                bad.append(f"{aid}: start {out['start']} outside its window")
        elif kind == "energy":
            lo, hi = app.get("min_kw", 0.0), app["max_kw"]
            e0, e1 = _dt(app["earliest_start"]), _dt(app["latest_end"])
            for t, p in enumerate(kw):
                inside = e0 <= times[t] and times[t] + timedelta(minutes=minutes) <= e1
                if p > TOL and (not inside or p < lo - TOL or p > hi + TOL):
                    bad.append(f"{aid}: {p} kW at slot {t} (window {inside}, [{lo}, {hi}])")
            if abs(sum(kw) * h - app["energy_kwh"]) > 1e-3 and f"{aid}.energy" not in relaxed:
                bad.append(f"{aid}: delivered {sum(kw) * h} kWh, not {app['energy_kwh']}")
        elif kind == "thermal":
            stored = app["initial_kwh"]
            for t, p in enumerate(kw):
                if min(abs(p), abs(p - app["power_kw"])) > TOL:
                    bad.append(f"{aid}: {p} kW is neither off nor {app['power_kw']}")
                on = 1.0 if p > app["power_kw"] / 2 else 0.0
                stored += on * app["power_kw"] * h - app.get("loss_kw", 0.0) * h - app["draw_kwh"][t]
                if abs(stored - out["stored_kwh"][t]) > 1e-3:
                    bad.append(f"{aid}: stored_kwh[{t}] {out['stored_kwh'][t]} != {stored}")
                if stored > app["capacity_kwh"] + TOL:
                    bad.append(f"{aid}: stored {stored} above capacity at slot {t}")
                if stored < app.get("min_kwh", 0.0) - TOL and f"{aid}.min_kwh" not in relaxed:
                    bad.append(f"{aid}: stored {stored} below min_kwh at slot {t}")
    bat = scenario.get("battery")
    if bat is None:
        if plan["battery"] is not None:
            bad.append("battery given without a battery")
    else:
        ch, dis, soc_out = (
            plan["battery"]["charge_kw"],
            plan["battery"]["discharge_kw"],
            plan["battery"]["soc_kwh"],
        )
        element(bat.get("line", "3P"), [ch[t] - dis[t] for t in range(n)])
        soc, eta = bat["initial_kwh"], bat["efficiency"]
        for t in range(n):
            if ch[t] > TOL and dis[t] > TOL:
                bad.append(f"battery charges and discharges in slot {t}")
            if not (
                -TOL <= ch[t] <= bat["max_charge_kw"] + TOL
                and -TOL <= dis[t] <= bat["max_discharge_kw"] + TOL
            ):
                bad.append(f"battery power out of bounds in slot {t}")
            soc += eta * ch[t] * h - dis[t] * h / eta
            if abs(soc - soc_out[t]) > 1e-3 or not (-TOL <= soc <= bat["capacity_kwh"] + TOL):
                bad.append(f"battery soc[{t}] {soc_out[t]} (recomputed {soc})")
        if soc < bat.get("final_min_kwh", 0.0) - TOL and "battery.final_min_kwh" not in relaxed:
            bad.append(f"battery ends at {soc} < final_min_kwh")
    for t in range(n):
        if imp[t] < -TOL or exp[t] < -TOL or (imp[t] > TOL and exp[t] > TOL):
            bad.append(f"grid slot {t}: import {imp[t]}, export {exp[t]}")
        if abs(imp[t] - exp[t] - load[t]) > 1e-3:
            bad.append(f"grid balance slot {t}: {imp[t] - exp[t]} != {load[t]}")
    if fuse is not None:
        for line in ("L1",) if network == "1P" else ("L1", "L2", "L3"):
            worst = max(abs(a) for a in currents[line])
            if worst > fuse + 1e-3 and f"fuse.{line}" not in relaxed:
                bad.append(f"fuse {line}: {worst:.3f} A > {fuse} A")
    energy = sum(imp[t] * pi[t] - exp[t] * pe[t] for t in range(n)) * h
    capacity = capacity_cost(scenario, imp)
    if abs(energy - plan["energy_cost"]) > 1e-3:
        bad.append(f"energy_cost {plan['energy_cost']} != recomputed {energy}")
    if abs(capacity - plan["capacity_cost"]) > 1e-3:
        bad.append(f"capacity_cost {plan['capacity_cost']} != recomputed {capacity}")
    total = energy + capacity + sum(r["cost"] for r in plan["relaxed"]) + plan.get("stability_cost", 0.0)
    if abs(total - plan["objective"]) > 1e-3 * max(1.0, abs(total) * 1e-3):
        bad.append(f"objective {plan['objective']} != recomputed {total}")
    return bad
