"""`hems tui`: the household's dashboard against a running daemon (its state file and database)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

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
    mqtt: Any = None  #: the [mqtt] section when the live state comes from the broker
    site: str = "home"
    static: dict[str, Any] = field(default_factory=dict)  #: site facts and breaker ratings (config)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="hems.toml: database, state file, time zone, cycle")
    parser.add_argument("--db", metavar="PATH", help="the daemon's database (read-only); overrides --config")
    parser.add_argument(
        "--state",
        metavar="FILE",
        help=f"the daemon's live state file (default: [storage] state_file, else {DEFAULT_STATE})",
    )
    parser.add_argument(
        "--live",
        choices=("auto", "file", "mqtt"),
        default="auto",
        help="live data from the state file or the broker in [mqtt] (auto: the file when it exists, "
        "else the broker when configured)",
    )


def resolve(args: argparse.Namespace) -> Target:
    """Paths and time facts from ``--config`` (when given), overridden by ``--db``/``--state``."""
    db = Path(args.db) if args.db else None
    state = Path(args.state) if args.state else None
    timezone, stale_after = None, timedelta(seconds=30)
    live = getattr(args, "live", "auto")
    if live == "mqtt" and not args.config:
        raise UsageError("--live mqtt needs --config FILE with an [mqtt] section")
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
        broker = None
        if live == "mqtt" or (live == "auto" and not state.exists()):
            broker = cfg.mqtt
            if broker is None and live == "mqtt":
                raise UsageError(f"{args.config}: --live mqtt needs an [mqtt] section")
        from hems.snapshot import site_state

        return Target(state, db, timezone, stale_after, broker, cfg.site.id, site_state(cfg))
    if db is not None and not db.is_file():
        raise UsageError(f"{db}: no such database (check --db, or give --config FILE)")
    return Target(state or Path(DEFAULT_STATE), db, timezone, stale_after)


def run(args: argparse.Namespace) -> int:
    target = resolve(args)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("hems tui needs an interactive terminal (over SSH: ssh -t)")

    from tui import run_dashboard
    from tui.source import DataSource, LocalSource

    source: DataSource = LocalSource(target.state, target.db)
    if target.mqtt is not None:
        from tui.mqtt import MqttSource

        source = MqttSource(target.mqtt, target.site, source, target.static)
    try:
        run_dashboard(source, timezone=target.timezone, stale_after=target.stale_after)
    finally:
        source.close()  # type: ignore[attr-defined]
    return 0
