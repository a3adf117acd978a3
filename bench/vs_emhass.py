"""Side by side with EMHASS on the same problems (run by hand; installs EMHASS in a throwaway venv).

    python bench/vs_emhass.py [--venv /tmp/hems-emhass-venv] [--emhass 0.18.7] [--repeat 3]

EMHASS cannot express the stepped capacity tariff, per-line fuses, a hot-water tank with draws, or a
semi-continuous EV, so each example is first reduced to what both can state exactly:
no capacity tariff, no fuse, the water heater as an on/off energy need (its energy over the day),
EV power continuous from 0, battery free to charge from and discharge to the grid. Both then solve
the same energy-cost problem; the table shows each one's energy cost and wall time (EMHASS with its
shipped 1 % MIP gap and 45 s limit). Rows "+peak": ours solves the original example with the
stepped tariff (objective shown), EMHASS the reduced one plus its linear peak charge of 5 per kW
(energy cost shown): different objectives, so only the times compare.

Nothing of EMHASS is imported into this process: it runs in its own venv through a child script.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import tomllib
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = textwrap.dedent(
    """
    import asyncio, inspect, json, pathlib, sys, tempfile, time, logging
    import numpy as np, pandas as pd
    import emhass
    from emhass import utils
    from emhass.optimization import Optimization

    def run(x):
        return asyncio.run(x) if inspect.isawaitable(x) else x

    problems = json.load(sys.stdin)
    root = pathlib.Path(emhass.__file__).parent
    tmp = pathlib.Path(tempfile.mkdtemp())
    conf = {"data_path": tmp, "root_path": root, "defaults_path": root / "data/config_defaults.json",
            "associations_path": root / "data/associations.csv"}
    logger = logging.getLogger("bench"); logger.setLevel(logging.ERROR)
    config = run(utils.build_config(conf, logger, conf["defaults_path"]))
    _, secrets = run(utils.build_secrets(conf, logger, no_response=True))
    out = []
    for pb in problems:
        params = run(utils.build_params(conf, secrets, config, logger))
        oc, pc, rc = params["optim_conf"], params["plant_conf"], params["retrieve_hass_conf"]
        rc["optimization_time_step"] = pb["slot_minutes"]
        rc["time_zone"] = pb["timezone"]
        loads = pb["loads"]
        oc.update({
            "number_of_deferrable_loads": len(loads),
            "nominal_power_of_deferrable_loads": [l["nominal_w"] for l in loads],
            "operating_hours_of_each_deferrable_load": [l["hours"] for l in loads],
            "start_timesteps_of_each_deferrable_load": [l["start"] for l in loads],
            "end_timesteps_of_each_deferrable_load": [l["end"] for l in loads],
            "treat_deferrable_load_as_semi_cont": [l["semi_cont"] for l in loads],
            "set_deferrable_load_single_constant": [l["single"] for l in loads],
            "set_deferrable_startup_penalty": [0.0 for _ in loads],
            "minimum_power_of_deferrable_loads": [0.0 for _ in loads],
            "set_use_battery": pb["battery"] is not None,
            "set_use_pv": True,
            "delta_forecast_daily": 1,
            "load_cost_forecast_method": "list",
            "production_price_forecast_method": "list",
            "lp_solver_timeout": 45,
            "set_nodischarge_to_grid": False,  # our contract lets the battery export
            "set_nocharge_from_grid": False,
        })
        if pb.get("capacity_cost_per_kw"):
            oc["capacity_cost_per_kw"] = pb["capacity_cost_per_kw"]
        pc.update({"maximum_power_from_grid": 100000, "maximum_power_to_grid": 100000,
                   "inverter_is_hybrid": False, "compute_curtailment": False})
        if pb["battery"]:
            b = pb["battery"]
            pc.update({"battery_nominal_energy_capacity": b["capacity_kwh"] * 1000,
                       "battery_charge_power_max": b["max_charge_kw"] * 1000,
                       "battery_discharge_power_max": b["max_discharge_kw"] * 1000,
                       "battery_charge_efficiency": b["efficiency"],
                       "battery_discharge_efficiency": b["efficiency"],
                       "battery_minimum_state_of_charge": 0.0, "battery_maximum_state_of_charge": 1.0,
                       "battery_target_state_of_charge": b["final_min_kwh"] / b["capacity_kwh"]})
        default_n = config.get("number_of_deferrable_loads", 2)
        mine = {"nominal_power_of_deferrable_loads", "operating_hours_of_each_deferrable_load",
                "start_timesteps_of_each_deferrable_load", "end_timesteps_of_each_deferrable_load",
                "treat_deferrable_load_as_semi_cont", "set_deferrable_load_single_constant",
                "set_deferrable_startup_penalty", "minimum_power_of_deferrable_loads"}
        for key, val in list(oc.items()):  # other per-load lists: resize with the first (neutral) entry
            if key not in mine and isinstance(val, list) and len(val) == default_n and val:
                oc[key] = [val[0]] * len(loads)
        rhc, ocf, pcf = utils.get_yaml_parse(json.dumps(params, default=str), logger)
        # EMHASS's day-ahead starts and ends the battery at battery_target_state_of_charge
        idx = pd.date_range(pb["start"], periods=pb["slots"], freq=f"{pb['slot_minutes']}min")
        prices = {"unit_load_cost": pb["import_price"], "unit_prod_price": pb["export_price"]}
        df = pd.DataFrame(prices, index=idx)
        p_pv = pd.Series(np.array(pb["pv_kw"]) * 1000, index=idx)
        p_load = pd.Series(np.array(pb["base_kw"]) * 1000, index=idx)
        began = time.perf_counter()
        opt = Optimization(rhc, ocf, pcf, "unit_load_cost", "unit_prod_price", "profit", conf, logger)
        res = opt.perform_dayahead_forecast_optim(df, p_pv, p_load)
        seconds = time.perf_counter() - began
        h = pb["slot_minutes"] / 60
        paid = res["P_grid_pos"] * df["unit_load_cost"] + res["P_grid_neg"] * df["unit_prod_price"]
        cost = float(paid.sum()) * h / 1000
        out.append({"name": pb["name"], "status": str(opt.optim_status), "cost": cost, "seconds": seconds})
    with open(sys.argv[1], "w", encoding="utf-8") as answer:  # not stdout: HiGHS prints its banner there
        json.dump(out, answer)
    """
)


def _reduce(scenario: dict[str, Any]) -> dict[str, Any]:
    """The example as both tools can state it (see the module docstring)."""
    sc = copy.deepcopy(scenario)
    sc.pop("capacity_tariff", None)
    sc["site"].pop("main_fuse_a", None)
    n, h = sc["horizon"]["slots"], sc["horizon"]["slot_minutes"] / 60
    apps = []
    for app in sc.get("appliance", []):
        if app["kind"] == "energy":
            app["min_kw"] = 0.0
        if app["kind"] == "thermal":
            need = (
                sum(app["draw_kwh"]) + app.get("loss_kw", 0.0) * n * h - (app["initial_kwh"] - app["min_kwh"])
            )
            slots = max(0, -(-need // (app["power_kw"] * h)))
            app = {
                "id": app["id"],
                "kind": "energy",
                "energy_kwh": slots * app["power_kw"] * h,
                "min_kw": app["power_kw"],
                "max_kw": app["power_kw"],
                "earliest_start": sc["horizon"]["start"],
                "latest_end": _end(sc),
            }
        apps.append(app)
    sc["appliance"] = apps
    return sc


def _end(sc: dict[str, Any]) -> str:
    from datetime import datetime, timedelta

    start = datetime.fromisoformat(str(sc["horizon"]["start"]))
    return (start + timedelta(minutes=sc["horizon"]["slots"] * sc["horizon"]["slot_minutes"])).isoformat()


def _emhass_problem(name: str, sc: dict[str, Any], capacity_per_kw: float | None) -> dict[str, Any]:
    from optimiser.problem import resolve
    from optimiser.scenario import parse_scenario

    p = resolve(parse_scenario(copy.deepcopy(sc)))
    loads = [
        {
            "nominal_w": [kw * 1000 for kw in a.profile_kw],
            "hours": len(a.profile_kw) * p.h,
            "start": a.first,
            "end": a.end,
            "semi_cont": False,
            "single": False,
        }
        for a in p.shiftables
    ]
    loads += [
        {
            "nominal_w": e.max_kw * 1000,
            "hours": e.energy_kwh / e.max_kw,
            "start": e.first,
            "end": e.end,
            "semi_cont": e.min_kw > 0,
            "single": False,
        }
        for e in p.energies
    ]
    bat = sc.get("battery")
    return {
        "name": name,
        "start": p.times[0].isoformat(),
        "slots": p.n,
        "slot_minutes": sc["horizon"]["slot_minutes"],
        "timezone": sc["site"]["timezone"],
        "import_price": p.import_price.tolist(),
        "export_price": p.export_price.tolist(),
        "base_kw": p.base_kw.tolist(),
        "pv_kw": p.pv_kw.tolist(),
        "loads": loads,
        "battery": None if bat is None else {"final_min_kwh": 0.0, **bat},
        "capacity_cost_per_kw": capacity_per_kw,
    }


def _ensure_venv(path: Path, version: str) -> Path:
    python = path / "bin" / "python"
    if not python.exists():
        print(f"# creating {path} and installing emhass=={version} (large download)", flush=True)
        venv.create(path, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"emhass=={version}"], check=True)
    return python


def main(argv: list[str] | None = None) -> int:
    from optimiser.plan import plan_scenario

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=Path("/tmp/hems-emhass-venv"))
    parser.add_argument("--emhass", default="0.18.7")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    python = _ensure_venv(args.venv, args.emhass)
    files = sorted((ROOT / "examples" / "scenarios").glob("*.toml"))
    ours: dict[str, tuple[float, float, str]] = {}
    problems = []
    for path in files:
        scenario = tomllib.loads(path.read_text(encoding="utf-8"))
        reduced = _reduce(scenario)
        times, result = [], {}
        for _ in range(args.repeat):
            began = time.perf_counter()
            result = plan_scenario(copy.deepcopy(reduced))
            times.append(time.perf_counter() - began)
        ours[path.stem] = (float(result["energy_cost"]), statistics.median(times), str(result["status"]))
        problems.append(_emhass_problem(path.stem, reduced, None))
        if "capacity_tariff" in scenario:  # second pass: their linear peak charge vs our steps
            began = time.perf_counter()
            full = plan_scenario(copy.deepcopy(scenario))
            ours[path.stem + "+peak"] = (
                float(full["objective"]),
                time.perf_counter() - began,
                str(full["status"]),
            )
            problems.append(_emhass_problem(path.stem + "+peak", reduced, 5.0))
    with tempfile.TemporaryDirectory() as tmp:
        answer = Path(tmp) / "emhass.json"  # results travel by a file: the child's stdout is HiGHS's
        proc = subprocess.run(
            [str(python), "-c", CHILD, str(answer)],
            input=json.dumps(problems),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not answer.exists():
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        theirs = {r["name"]: r for r in json.loads(answer.read_text(encoding="utf-8"))}
    print(f"# python bench/vs_emhass.py --repeat {args.repeat}  (emhass {args.emhass}, HiGHS both)")
    print(
        f"{'scenario':<30} {'ours cost':>10} {'ours s':>7} {'ours status':<12} {'emhass cost':>11} "
        f"{'emhass s':>8} status"
    )
    for name, (cost, seconds, status) in ours.items():
        th = theirs.get(name, {})
        print(
            f"{name:<30} {cost:>10.4f} {seconds:>7.3f} {status:<12} {th.get('cost', float('nan')):>11.4f} "
            f"{th.get('seconds', float('nan')):>8.3f} {th.get('status', '-')}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
