"""`hems plan SCENARIO.toml [--json] [--lp FILE] [--gap G] [--time-limit S]` — solve one scenario;
for the classroom also ``--explain``, ``--compare A.toml``, ``--plot`` and ``--png FILE``.

The scenario format and the JSON output are the contract of docs/scenario-format.md. Without
``--json`` the plan is printed in words (status, costs, each appliance and why). pyomo is imported
only inside `run`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from hems.errors import UsageError

NAME = "plan"
HELP = "Plan appliances, EV, water heater and battery for a scenario file (day-ahead MILP)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario TOML file (docs/scenario-format.md)")
    parser.add_argument("--json", action="store_true", help="print the plan as one JSON object")
    parser.add_argument("--lp", metavar="FILE", help="also write the model as an LP file (for teaching)")
    parser.add_argument("--gap", type=float, default=1e-4, help="relative MIP gap to prove (default 1e-4)")
    parser.add_argument(
        "--time-limit", type=float, default=30.0, metavar="S", help="solver time limit [s] (default 30)"
    )
    from optimiser.teach.cli import add_teaching_arguments  # --explain, --compare, --plot, --png

    add_teaching_arguments(parser)


def _words(result: dict[str, Any]) -> str:
    from optimiser.explain import PENALTY, broken_words

    lines = [
        f"status: {result['status']}  (gap {result['mip_gap']:.2e}, {result['solve_seconds']:.3f} s: "
        f"build {result['timing']['build_seconds']:.3f} s + solve {result['timing']['solve_seconds']:.3f} s)",
        f"cost: {result['objective']:.2f} = energy {result['energy_cost']:.2f} + capacity "
        f"{result['capacity_cost']:.2f}"
        + (
            f" + {PENALTY} {sum(r['cost'] for r in result['relaxed']):.2f} (not money)"
            if result["relaxed"]
            else ""
        )
        + (f" + moved starts {result['stability_cost']:.2f}" if "stability_cost" in result else ""),
        "",
    ]
    lines += [f"  {text}" for text in result["explanation"]["text"]]
    for item in result["relaxed"]:
        lines.append(f"  RELAXED {item['rule']}: {broken_words(item)}, penalty {item['cost']:.2f}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from optimiser.plan import PlanError, plan_scenario
    from optimiser.scenario import ScenarioError, load_scenario
    from optimiser.teach.cli import run_teaching

    if not (math.isfinite(args.gap) and args.gap >= 0):
        raise UsageError(f"--gap must be a number >= 0, got {args.gap}")
    if not (math.isfinite(args.time_limit) and args.time_limit > 0):
        raise UsageError(f"--time-limit must be a number of seconds > 0, got {args.time_limit}")
    status = run_teaching(args)  # None when no teaching flag was given
    if status is not None:
        return status
    try:
        spec = load_scenario(args.scenario)
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    try:
        result = plan_scenario(
            spec, gap=args.gap, time_limit=args.time_limit, lp_path=args.lp, source=args.scenario
        )
    except PlanError as exc:
        print(f"hems: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(_words(result))
    return 0
