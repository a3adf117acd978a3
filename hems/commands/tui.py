"""`hems tui`: the household's dashboard against a running daemon (its state file and database)."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

from hems.errors import UsageError

NAME = "tui"
HELP = "Show the household's dashboard in this terminal (live power, circuits, plan, history, alerts)."
DEFAULT_STATE = "/run/hems/state.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="hems.toml: database path, time zone, cycle length")
    parser.add_argument("--db", metavar="PATH", help="the daemon's database (read-only); overrides --config")
    parser.add_argument(
        "--state",
        metavar="FILE",
        default=None,
        help=f"the daemon's live state file (default {DEFAULT_STATE})",
    )


def run(args: argparse.Namespace) -> int:
    db: str | None = args.db
    timezone: str | None = None
    stale_after = timedelta(seconds=30)
    if args.config:
        from hems.config import load_config

        cfg = load_config(args.config)
        db = db or cfg.storage.path
        timezone = cfg.site.timezone
        stale_after = timedelta(seconds=3 * cfg.site.cycle_seconds)
    elif db is not None and not Path(db).is_file():
        raise UsageError(f"{db}: no such database (check --db, or give --config FILE)")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("hems tui needs an interactive terminal (over SSH: ssh -t)")

    from tui import run_dashboard
    from tui.source import LocalSource

    source = LocalSource(args.state or DEFAULT_STATE, db)
    try:
        run_dashboard(source, timezone=timezone, stale_after=stale_after)
    finally:
        source.close()
    return 0
