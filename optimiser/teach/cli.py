"""The teaching flags of `hems plan`: --explain, --compare, --plot, --png.

`hems/commands/plan.py` (not this package: optimiser/ never imports hems/) calls
`add_teaching_arguments(parser)` after its own arguments and, first thing in its `run`,
``status = run_teaching(args)``; when that is not None the command returns it, otherwise the normal
plan output runs. Everything heavy (pyomo, matplotlib) is imported inside `run_teaching`.

- ``--explain``: the model in words (variables, constraints, objective with this scenario's numbers),
  the solution, and what each appliance's alternatives would cost.
- ``--compare BEFORE.toml``: ``hems plan --compare A.toml B.toml`` shows what changed from A to B
  and why the plan moved (B is the command's scenario argument).
- ``--plot``: a text chart, 80 columns, monochrome. ``--png FILE``: the same as a picture.

The flags combine (``--explain --plot --png day.png``). ``--lp FILE``, ``--gap`` and
``--time-limit`` of the plan command are honoured. A malformed scenario prints one line (file: key:
expected) and exits 2, as `hems plan` does.
"""

from __future__ import annotations

import argparse
import sys

TEACHING_FLAGS = ("explain", "compare", "plot", "png")


def add_teaching_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --explain, --compare BEFORE.toml, --plot and --png FILE to the `plan` parser."""
    group = parser.add_argument_group("teaching (docs/classroom.md)")
    group.add_argument(
        "--explain",
        action="store_true",
        help="the model in words with this scenario's numbers, the solution, each appliance's alternatives",
    )
    group.add_argument(
        "--compare",
        metavar="BEFORE.toml",
        help="compare with another scenario: `hems plan --compare A.toml B.toml` shows what changed "
        "from A to B and why the plan moved",
    )
    group.add_argument("--plot", action="store_true", help="draw the plan as a text chart (80 columns)")
    group.add_argument("--png", metavar="FILE", help="draw the plan (prices, PV, loads, fuse) to a PNG file")


def wants_teaching(args: argparse.Namespace) -> bool:
    """True when any teaching flag was given."""
    return any(getattr(args, name, None) not in (None, False) for name in TEACHING_FLAGS)


def run_teaching(args: argparse.Namespace) -> int | None:
    """Run the teaching views; None when no teaching flag was given (the normal output runs)."""
    if not wants_teaching(args):
        return None
    from optimiser.plan import PlanError
    from optimiser.scenario import ScenarioError
    from optimiser.teach.session import solve_file

    gap, time_limit = getattr(args, "gap", 1e-4), getattr(args, "time_limit", 30.0)
    if getattr(args, "json", False) and (args.explain or args.compare or args.plot):
        print("hems: error: --json cannot be combined with --explain, --compare or --plot", file=sys.stderr)
        return 2
    if args.png:
        from optimiser.teach.png import matplotlib_missing

        if (why := matplotlib_missing()) is not None:
            print(f"hems: error: {why}", file=sys.stderr)
            return 2
    try:
        before = None
        if args.compare:
            before = solve_file(args.compare, gap=gap, time_limit=time_limit)
        solved = solve_file(args.scenario, gap=gap, time_limit=time_limit, lp_path=getattr(args, "lp", None))
    except ScenarioError as exc:
        print(f"hems: error: {exc}", file=sys.stderr)
        return 2
    except PlanError as exc:
        print(f"hems: error: {exc}", file=sys.stderr)
        return 1
    parts: list[str] = []
    if args.explain:
        from optimiser.teach.explain_model import explain_model

        parts.append(explain_model(solved))
    if before is not None:
        from optimiser.teach.compare import compare

        parts.append(compare(before, solved))
    if args.plot:
        from optimiser.teach.textplot import text_chart

        if before is not None:
            parts.append(text_chart(before))
        parts.append(text_chart(solved))
    if args.png:
        from optimiser.teach.png import write_png

        try:
            write_png(solved, args.png)
        except OSError as exc:
            print(f"hems: error: {args.png}: cannot write the PNG file ({exc.strerror})", file=sys.stderr)
            return 2
    if getattr(args, "json", False):
        import json

        json.dump(solved.result, sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif args.png and not parts:
        parts.append(
            f"cost {solved.result['objective']:.2f} = energy {solved.result['energy_cost']:.2f} "
            f"+ capacity {solved.result['capacity_cost']:.2f}; chart written to {args.png}"
        )
    elif args.png:
        parts.append(f"chart written to {args.png}")
    if parts:
        print("\n\n".join(parts))
    return 0
