"""`hems tui`: the household's dashboard against a running daemon (its state file and database)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hems.durations import parse_date
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
    circuits: tuple[tuple[str, str], ...] = ()  #: (id, name) of the circuits, when no state names them
    start_date: date | None = None  #: open History at this local day


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
    parser.add_argument("--date", metavar="YYYY-MM-DD", help="open History at this day (g jumps there too)")


def resolve(args: argparse.Namespace) -> Target:
    """Paths and time facts from ``--config`` (when given), overridden by ``--db``/``--state``."""
    db = Path(args.db) if args.db else None
    state = Path(args.state) if args.state else None
    start_date = parse_date(args.date, "--date") if getattr(args, "date", None) else None
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

        named = tuple((c.id, c.name or c.id) for c in cfg.circuit)
        static = site_state(cfg)
        return Target(state, db, timezone, stale_after, broker, cfg.site.id, static, named, start_date)
    if db is not None and not db.is_file():
        raise UsageError(f"{db}: no such database (check --db, or give --config FILE)")
    circuits: tuple[tuple[str, str], ...] = ()
    if db is not None:  # no config: the database knows the household's time zone and circuits
        timezone, circuits = _from_database(db)
    return Target(
        state or Path(DEFAULT_STATE), db, timezone, stale_after, circuits=circuits, start_date=start_date
    )


def _from_database(db: Path) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """The time zone the database was written in and its circuits ((id, id), sorted)."""
    import sqlite3

    from hems.storage import Storage

    try:
        with Storage.open(db, readonly=True) as st:
            ids = sorted(
                {c.split(".")[1] for c in st.channels() if c.startswith("circuit.") and c.count(".") == 2}
            )
            return str(st.timezone), tuple((cid, cid) for cid in ids)
    except (sqlite3.DatabaseError, OSError) as exc:
        raise UsageError(f"{db}: cannot read the database: {exc}") from None


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
        run_dashboard(
            source,
            timezone=target.timezone,
            stale_after=target.stale_after,
            circuits=target.circuits,
            start_date=target.start_date,
        )
    finally:
        source.close()  # type: ignore[attr-defined]
    return 0
