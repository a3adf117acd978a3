"""`hems api`: the household API's certificate and tokens.

``hems api info --config FILE``: where the API listens, its certificate's SHA-256 fingerprint (compare
it with what the phone's browser shows, once) and the tokens in force.
``hems api token add --config FILE --role member --name "Kari's phone" [--expires 90d]
[--appliance ID]``: prints the new token once (only its hash is kept).
``hems api token list --config FILE`` and ``hems api token revoke --config FILE ID`` (at once).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from hems.errors import UsageError

NAME = "api"
HELP = "The household API: its certificate fingerprint and its access tokens (add, list, revoke)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="api_command", metavar="ACTION", required=True)
    info = sub.add_parser("info", help="where the API listens, its certificate fingerprint, its tokens")
    info.add_argument("--config", required=True, help="hems.toml with an [api] section")
    token = sub.add_parser("token", help="add, list or revoke access tokens")
    tsub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    add = tsub.add_parser("add", help="make a token (printed once, stored hashed)")
    add.add_argument("--config", required=True, help="hems.toml with an [api] section")
    add.add_argument(
        "--role",
        required=True,
        choices=("owner", "member", "display", "installer", "appliance"),
        help="owner: everything; member: read; display: live state only; installer: diagnostics "
        "(time-limited); appliance: its own schedule and state",
    )
    add.add_argument("--name", default="", help='who or what holds it ("Kari\'s phone")')
    add.add_argument(
        "--expires", metavar="DURATION", help="lifetime (90d, 12h); installer tokens always expire"
    )
    add.add_argument("--appliance", metavar="ID", help="the appliance an appliance token belongs to")
    lst = tsub.add_parser("list", help="every token's record (never the token itself)")
    lst.add_argument("--config", required=True, help="hems.toml with an [api] section")
    rev = tsub.add_parser("revoke", help="revoke a token by its id (takes effect at once)")
    rev.add_argument("--config", required=True, help="hems.toml with an [api] section")
    rev.add_argument("id", help="the token's id (from `hems api token list`)")


def _setup(config_path: str) -> tuple[object, Path]:
    from hems.api.config import api_dir
    from hems.config import load_config

    cfg = load_config(config_path)
    if cfg.api is None:
        raise UsageError(f"{config_path}: no [api] section: the household API is off (docs/api.md)")
    return cfg, api_dir(cfg.api, cfg.storage.path)


def _when(t: datetime | None) -> str:
    return "never" if t is None else t.astimezone().strftime("%Y-%m-%d %H:%M")


def run(args: argparse.Namespace) -> int:
    from hems.api.tokens import TokenError, TokenStore

    cfg, directory = _setup(args.config)
    api = cfg.api  # type: ignore[attr-defined]
    store = TokenStore(directory / "tokens.db")
    now = datetime.now(UTC)
    if args.api_command == "info":
        from hems.api.tls import cert_files, fingerprint

        scheme = "https" if api.tls else "http"
        host = api.host if api.host not in ("0.0.0.0", "::") else "<this box's address>"
        print(f"API: {scheme}://{host}:{api.port}/  (the phone page; docs at /api/docs)")
        files = cert_files(directory)
        if not api.tls:
            print("certificate: none (plain HTTP, bound to this box only)")
        elif files.cert.is_file():
            print(f"certificate: {files.cert}")
            print(f"SHA-256 fingerprint: {fingerprint(files.cert)}")
        else:
            print(f"certificate: not made yet (the daemon makes it in {directory} on its first start)")
        active = [t for t in store.list() if t.valid_at(now)]
        roles = sorted({t.role for t in active})
        summary = ", ".join(f"{sum(t.role == r for t in active)} {r}" for r in roles) or "none"
        print(f"tokens in force: {summary}")
        return 0
    try:
        if args.token_command == "add":
            expires = None
            if args.expires:
                from hems.durations import parse_duration

                expires = now + parse_duration(args.expires, "--expires")
            token, secret = store.add(
                args.role,
                args.name,
                now,
                expires=expires,
                appliance=args.appliance,
                installer_hours=api.installer_hours,
            )
            print(secret)
            print(
                f"token {token.id} ({token.role}{', ' + token.appliance if token.appliance else ''}), "
                f"expires {_when(token.expires)}; shown only now: keep it (only its hash is stored)",
                file=sys.stderr,
            )
            return 0
        if args.token_command == "list":
            tokens = store.list()
            if not tokens:
                print("no tokens (hems api token add --role owner --name ...)")
            print(f"{'id':<9} {'role':<10} {'state':<8} {'expires':<17} name")
            for t in tokens:
                state = "revoked" if t.revoked else ("expired" if not t.valid_at(now) else "active")
                label = t.name + (f" [{t.appliance}]" if t.appliance else "")
                print(f"{t.id:<9} {t.role:<10} {state:<8} {_when(t.expires):<17} {label}")
            return 0
        if not store.revoke(args.id, now):
            raise UsageError(f"no token {args.id!r} (hems api token list shows them)")
        print(f"revoked {args.id}")
        return 0
    except TokenError as exc:
        raise UsageError(str(exc)) from None
