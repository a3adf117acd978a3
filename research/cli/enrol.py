"""`hems research enrol --data DIR --postcode 1081 [--name N --address A --email E] [--json]`."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

NAME = "enrol"
HELP = "enrol a household: its upload token; contact details go to the confidential register"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="the server's data directory")
    parser.add_argument(
        "--postcode", required=True, help="the household's full postcode (kept in the register)"
    )
    parser.add_argument("--name")
    parser.add_argument("--address")
    parser.add_argument("--email")
    parser.add_argument("--json", action="store_true", help='print {"enrolment", "token"}')


def run(args: argparse.Namespace) -> int:
    from research.enrol import enrol
    from research.paths import DataDir

    done = enrol(
        DataDir(Path(args.data)),
        args.postcode,
        now=datetime.now(UTC),
        name=args.name,
        address=args.address,
        email=args.email,
    )
    if args.json:
        print(json.dumps({"enrolment": done.enrolment, "token": done.token}))
    else:
        print(f"enrolment {done.enrolment} (postcode prefix {done.prefix})")
        print(f"token {done.token}")
        print("Give the token to the household for [telemetry] token; it is not shown again.")
    return 0
