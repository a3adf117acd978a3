"""Benchmark: plan every example scenario several times and print a table (run by hand).

    python bench/plan.py [--repeat 5] [--gap 1e-4] [FILES...]

Columns: status, objective, gap, model build [s] (pyomo), solve [s] (translation to HiGHS + HiGHS),
HiGHS's own time [s], branch-and-bound nodes, binaries; build and solve as median (best) of the
repeats. Other engineers share the CPU: run it a few times and report the median.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyomo.environ as pyo  # noqa: E402

from optimiser.model import build_model  # noqa: E402
from optimiser.problem import resolve  # noqa: E402
from optimiser.scenario import load_scenario  # noqa: E402
from optimiser.solve import _solve_once, solve_model  # noqa: E402


def _binaries(model: pyo.ConcreteModel) -> int:
    return sum(1 for v in model.component_data_objects(pyo.Var) if v.is_binary())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--gap", type=float, default=1e-4)
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--one-mip", action="store_true", help="no step search: one MIP picks the steps")
    args = parser.parse_args(argv)
    files = args.files or sorted((ROOT / "examples" / "scenarios").glob("*.toml"))
    header = (
        f"{'scenario':<24} {'status':<10} {'objective':>11} {'gap':>9} {'build s':>15} {'solve s':>15} "
        f"{'highs s':>7} {'total s':>7} {'nodes':>5} {'bin':>4}"
    )
    flags = " --one-mip" if args.one_mip else ""
    print(
        f"# python bench/plan.py --repeat {args.repeat} --gap {args.gap}{flags}   (median (best) of repeats)"
    )
    print(header)
    print("-" * len(header))
    for path in files:
        problem = resolve(load_scenario(path))
        builds, solves, highs, totals = [], [], [], []
        for _ in range(args.repeat):
            began = time.perf_counter()
            built = build_model(problem)
            builds.append(time.perf_counter() - began)
            solve = _solve_once if args.one_mip else solve_model
            outcome = solve(built, gap=args.gap, time_limit=args.time_limit)
            solves.append(outcome.solve_seconds)
            highs.append(outcome.highs_seconds)
            totals.append(builds[-1] + solves[-1])
        objective = "-" if outcome.objective is None else f"{outcome.objective:.4f}"
        print(
            f"{path.stem:<24} {outcome.status:<10} {objective:>11} {outcome.mip_gap:>9.2e} "
            f"{statistics.median(builds):>6.3f} ({min(builds):.3f}) "
            f"{statistics.median(solves):>6.3f} ({min(solves):.3f}) {statistics.median(highs):>7.3f} "
            f"{statistics.median(totals):>7.3f} {outcome.nodes:>5} {_binaries(built.model):>4}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
