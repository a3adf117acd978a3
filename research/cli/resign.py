"""`hems research resign --data DIR ENROLMENT [--json]`: delete everything held for a household."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

NAME = "resign"
HELP = "a household resigns: delete all its data everywhere, revoke its token, print the receipt"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="the server's data directory")
    parser.add_argument("enrolment", help="the enrolment (from `hems research enrol` / `households`)")
    parser.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from research.paths import DataDir
    from research.resign import resign

    now = datetime.now(UTC)
    receipt = resign(
        DataDir(Path(args.data)), args.enrolment, requested_by="administrator", requested_at=now, now=now
    )
    if args.json:
        print(json.dumps(receipt.to_dict()))
    else:
        print(f"enrolment {receipt.enrolment} resigned at {receipt.completed_at}")
        print(f"removed: {receipt.batches} day(s), {receipt.files} file(s), {receipt.bytes} bytes")
        print("what: " + "; ".join(receipt.what))
    return 0
