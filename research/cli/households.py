"""`hems research households --data DIR [--json]`: enrolments by pseudonym, prefix and last upload."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

NAME = "households"
HELP = "list enrolments by pseudonym, prefix and last upload (no contact details)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="the server's data directory")
    parser.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from research.enrol import list_enrolments
    from research.paths import DataDir

    rows = list_enrolments(DataDir(Path(args.data)))
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return 0
    if not rows:
        print("no households enrolled")
        return 0
    print(f"{'enrolment':16} {'prefix':6} {'status':9} last upload")
    for r in rows:
        last = r.last_upload_at or ("—" if r.status == "active" else "")
        print(f"{r.enrolment:16} {r.prefix:6} {r.status:9} {last}")
    return 0
