"""`hems research privacy-report --data DIR [--k 5] [--json]`: households per postcode prefix, the
prefixes below k, and how released data shows them (generalised or withheld)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "privacy-report"
HELP = "households per postcode prefix, the prefixes below k and how released data generalises them"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="the server's data directory")
    parser.add_argument("--k", type=int, default=5, help="smallest acceptable group (default 5)")
    parser.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from research.paths import DataDir
    from research.privacy_report import privacy_report

    report = privacy_report(DataDir(Path(args.data)), args.k)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"k = {report['k']}: {report['households']} household(s) with data, "
        f"{len(report['prefixes'])} prefix(es)"
    )
    print(f"{'prefix':8} {'households':>10}  released as")
    for row in report["prefixes"]:
        shown = row["released_as"] or "withheld"
        mark = "  (below k)" if row["below_k"] else ""
        print(f"{row['prefix']:8} {row['households']:>10}  {shown}{mark}")
    for note in report["notes"]:
        print(note)
    return 0
