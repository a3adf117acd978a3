"""`hems research researcher ACTION --data DIR`: researcher accounts (docs/research.md).

- ``apply --name N --email E --institution I --purpose P`` (the password on stdin, or asked for):
  an application, its user id;
- ``approve|refuse|revoke USER [--why TEXT]``: the administrator's decision (refusing or revoking
  ends every session and API key at once);
- ``key USER``: a new API key for scripts (shown once);
- ``list``: every researcher and the decision; ``log [USER]``: the access log.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NAME = "researcher"
HELP = "researcher accounts: apply, approve, refuse, revoke, key, list, log"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="researcher_action", metavar="ACTION", required=True)
    apply = actions.add_parser("apply", help="apply for access (the password is read from stdin or asked)")
    for field in ("name", "email", "institution", "purpose"):
        apply.add_argument(f"--{field}", required=True)
    apply.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    for name, text in (
        ("approve", "approve an application"),
        ("refuse", "refuse an application"),
        ("revoke", "revoke an approved researcher's access"),
    ):
        p = actions.add_parser(name, help=text)
        p.add_argument("user_id")
        p.add_argument("--why", default="", help="the reason, kept with the decision")
    key = actions.add_parser("key", help="a new API key for an approved researcher (shown once)")
    key.add_argument("user_id")
    actions.add_parser("list", help="every researcher and the decision")
    log = actions.add_parser("log", help="the access log: who, what, when, how many rows")
    log.add_argument("user_id", nargs="?")
    for p in actions.choices.values():
        p.add_argument("--data", required=True, help="the server's data directory")
        p.add_argument("--json", action="store_true")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass("password (at least 12 characters): ")


def run(args: argparse.Namespace) -> int:
    from research import accounts
    from research.paths import DataDir

    data = DataDir(Path(args.data))
    now = datetime.now(UTC)
    action = args.researcher_action
    out: Any
    if action == "apply":
        user_id = accounts.apply(
            data,
            name=args.name,
            email=args.email,
            institution=args.institution,
            purpose=args.purpose,
            password=_password(args.password_stdin),
            now=now,
        )
        out = {"user_id": user_id, "status": "applied"}
        text = f"application recorded: user id {user_id} (the administrator decides)"
    elif action in ("approve", "refuse", "revoke"):
        status = {"approve": "approved", "refuse": "refused", "revoke": "revoked"}[action]
        found = accounts.decide(data, args.user_id, status, now, args.why)
        out = {"user_id": found.user_id, "status": found.status}
        text = f"{found.user_id} ({found.name}, {found.institution}): {found.status}"
    elif action == "key":
        out = {"user_id": args.user_id, "api_key": accounts.new_api_key(data, args.user_id, now)}
        text = f"API key for {args.user_id} (shown once): {out['api_key']}"
    elif action == "list":
        out = accounts.researchers(data)
        rows = [
            f"{r['user_id']:12} {r['status']:9} {r['name']} <{r['email']}>, {r['institution']}" for r in out
        ]
        text = "\n".join(rows) if rows else "no researchers"
    else:
        out = accounts.access_log(data, args.user_id)
        text = (
            "\n".join(
                f"{r['at']} {r['user_id']} {r['via']} {r['what']} rows={r['rows']} {r['outcome']}: "
                f"{str(r['detail'])[:80]}"
                for r in out
            )
            or "no access logged"
        )
    print(json.dumps(out, ensure_ascii=False) if args.json else text)
    return 0
