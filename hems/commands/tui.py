"""`hems tui`: the household's dashboard against a running daemon (its state file and database)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from hems.errors import UsageError

NAME = "tui"
HELP = "Show the household's dashboard in this terminal (live power, circuits, plan, history, alerts)."
DEFAULT_STATE = "/run/hems/state.json"


@dataclass(frozen=True)
class Target:
    """What the dashboard reads, resolved from the options and the config."""

    state: Path
    db: Path | None
    timezone: str | None
    stale_after: timedelta


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="hems.toml: database, state file, time zone, cycle")
    parser.add_argument("--db", metavar="PATH", help="the daemon's database (read-only); overrides --config")
    parser.add_argument(
        "--state",
        metavar="FILE",
        help=f"the daemon's live state file (default: [storage] state_file, else {DEFAULT_STATE})",
    )


def resolve(args: argparse.Namespace) -> Target:
    """Paths and time facts from ``--config`` (when given), overridden by ``--db``/``--state``."""
    db = Path(args.db) if args.db else None
    state = Path(args.state) if args.state else None
    timezone, stale_after = None, timedelta(seconds=30)
    if args.config:
        from hems.config import load_config

        cfg = load_config(args.config)
        db = db or Path(cfg.storage.path)
        if state is None:
            # `hems run` falls back to a file beside the database when it cannot create the
            # state file's directory: follow it there when that is where the state is
            state = Path(cfg.storage.state_file)
            beside = Path(cfg.storage.path).with_suffix(".state.json")
            if not state.exists() and beside.exists():
                state = beside
        timezone = cfg.site.timezone
        stale_after = timedelta(seconds=3 * cfg.site.cycle_seconds)
    elif db is not None and not db.is_file():
        raise UsageError(f"{db}: no such database (check --db, or give --config FILE)")
    return Target(state or Path(DEFAULT_STATE), db, timezone, stale_after)


def run(args: argparse.Namespace) -> int:
    target = resolve(args)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("hems tui needs an interactive terminal (over SSH: ssh -t)")

    from tui import run_dashboard
    from tui.source import LocalSource

    source = LocalSource(target.state, target.db)
    try:
        run_dashboard(source, timezone=target.timezone, stale_after=target.stale_after)
    finally:
        source.close()
    return 0
