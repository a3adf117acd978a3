"""`hems demo`: the whole box on a simulated household (the digital twin), no hardware, no broker.

Simulated time starts at local midnight of ``--start`` (default today) — or, when the database
already holds data, right after its newest sample (a second run resumes) — and runs ``--speed``
times faster than real time. ``--stop-after`` bounds the simulated time of this run.

The twin's smart appliances speak the box's protocol (docs/control.md) over an in-process bus, or
over a real broker with ``--mqtt HOST:PORT``; day-ahead prices come from the simulated market of the
household's bidding zone (tariffs/pricesim.py), published at 13:00. The first simulated day of a new
database has a staged overload evening (devices/simulated/behaviour.py). The database is marked
simulated, and nothing is uploaded unless ``--upload`` is given (then [telemetry] applies and every
batch says it is simulated).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hems.app import build_daemon, open_storage, run_until_signalled
from hems.clock import ProjectedClock, SimClock, SystemClock
from hems.config import HemsConfig, load_config
from hems.durations import parse_date, parse_duration
from hems.errors import UsageError
from hems.mqtt.config import MqttConfig
from hems.snapshot import Snapshot
from hems.storage import Storage

NAME = "demo"
HELP = "run the whole box on a simulated household (no hardware needed)"


def default_db() -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "hems" / "demo.db"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="a hems.toml: household, tariff, postcode (devices are simulated)")
    parser.add_argument(
        "--headless",
        action="store_true",
        help="no dashboard: a line per cycle (also when not on a terminal)",
    )
    parser.add_argument("--speed", type=float, default=60.0, help="simulated seconds per real second")
    parser.add_argument("--stop-after", help="stop after this much simulated time (2h, 26h, 10m)")
    parser.add_argument("--db", help=f"SQLite database (default {default_db()})")
    parser.add_argument("--seed", type=int, default=1, help="the household's random seed")
    parser.add_argument("--start", help="first simulated day, YYYY-MM-DD (default today)")
    parser.add_argument("--state", help="write the live state JSON here (for a dashboard)")
    parser.add_argument("--quiet", action="store_true", help="headless without the per-cycle lines")
    parser.add_argument(
        "--mqtt",
        metavar="HOST:PORT",
        help="the box and the twin's appliances talk over this MQTT broker (default: in-process)",
    )
    parser.add_argument(
        "--drivers",
        action="store_true",
        help="the water heater behind a simulated Shelly, the EV behind a simulated OCPP charge point, "
        "a configured battery behind a simulated SunSpec inverter (the box drives them with its real "
        "drivers; docs/appliances.md)",
    )
    parser.add_argument(
        "--upload",
        action="store_true",
        help="upload telemetry as [telemetry] says (off in a demo otherwise); batches say they are simulated",
    )
    parser.add_argument(
        "--fail",
        action="append",
        default=[],
        metavar="DEVICE",
        help="make a simulated device fail (grid, pv or a circuit id; for trying out alerts and backoff)",
    )


def _line(snapshot: Snapshot, tz: ZoneInfo) -> str:
    g = snapshot.grid
    t = snapshot.time.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    pv_kw = (snapshot.pv.p_w or 0.0) / 1000 if snapshot.pv else 0.0
    if g is not None and g.p_net_w is not None:
        net_kw = g.p_net_w / 1000
        amps = " ".join(f"{ln} {a:4.1f}" for ln in ("L1", "L2", "L3") if (a := g.current(ln)) is not None)
        grid = f"grid {net_kw:+6.2f} kW  house {net_kw + pv_kw:5.2f} kW  {amps} A"
    else:
        grid = "grid     —"
    missing = f"  missing: {', '.join(sorted(snapshot.errors))}" if snapshot.errors else ""
    return f"{t}  {grid}  pv {pv_kw:4.2f} kW  circuits {len(snapshot.circuits)}{missing}"


@dataclass
class _Prepared:
    """Where and when this run of the simulation happens."""

    db: Path
    storage: Storage
    start: datetime
    until: datetime | None
    clock: SimClock
    fresh: bool = True  #: a new database (its first day is the staged one)
    lock: int | None = None  #: the locked file descriptor that keeps a second demo off this database


def _lock(db: Path) -> int:
    """Hold ``<db>.lock`` (a file descriptor, flock'ed) for as long as this demo runs: a second
    `hems demo` on the same database is refused instead of resuming it while this one writes."""
    import fcntl

    db.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(db.with_name(db.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pid = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise UsageError(
            f"--db: {db} is being written by another hems demo (pid {pid}); "
            "stop it first or give another --db"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def _broker(text: str | None) -> tuple[str, int] | None:
    if text is None:
        return None
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--mqtt: expected HOST:PORT such as localhost:1883, got {text!r}")
    return host, int(port)


def _prepare(args: argparse.Namespace, cfg: HemsConfig) -> _Prepared:
    tz = ZoneInfo(cfg.site.timezone)
    db = Path(args.db) if args.db else default_db()
    until_delta = parse_duration(args.stop_after, "--stop-after") if args.stop_after else None
    day = parse_date(args.start, "--start") if args.start else SystemClock().now().astimezone(tz).date()
    lock = _lock(db)
    storage = open_storage(db, cfg)
    storage.mark_simulated("hems demo")
    last = storage.last_time()
    if last is not None:
        start = last + timedelta(seconds=cfg.site.cycle_seconds)
        print(f"hems demo: resuming {db} at {start.astimezone(tz):%Y-%m-%d %H:%M:%S}", file=sys.stderr)
    else:
        start = datetime(day.year, day.month, day.day, tzinfo=tz)
    until = start + until_delta if until_delta else None
    return _Prepared(db, storage, start, until, SimClock(start, args.speed), fresh=last is None, lock=lock)


async def _simulate(
    args: argparse.Namespace, cfg: HemsConfig, prep: _Prepared, stop_flag: threading.Event | None = None
) -> int:
    from devices.appliances.link import LocalBus
    from devices.simulated import SimCircuitMeter, SimGridMeter, SimPvInverter, Twin
    from hems.control import build_control
    from hems.daemon import Devices
    from hems.twin import (
        connect_appliances,
        publish_prices,
        simulated_jobs,
        simulated_market,
        twin_config,
        twin_forecaster,
        twin_kwargs,
    )

    cfg, _ = twin_config(cfg)  # (again: idempotent, for callers that built their own config)
    tz = ZoneInfo(cfg.site.timezone)
    staged = prep.start.astimezone(tz).date() if prep.fresh else None
    twin = Twin(
        prep.clock, seed=args.seed, fail={d: "error" for d in args.fail}, staged=staged, **twin_kwargs(cfg)
    )
    broker = _broker(args.mqtt)
    bus = None if broker else LocalBus()
    runtime: str | None = None
    try:
        connect_appliances(twin, cfg, bus=bus, mqtt=broker)
        market = simulated_market(cfg, args.seed)
        parts: dict[str, Any] = {"telemetry": None, "research_jobs": None}
        if market is not None:
            publish_prices(prep.storage, market, cfg.tariff.bidding_zone, prep.start)
            forecast = twin_forecaster(twin, prep.storage, prep.clock)
            parts = simulated_jobs(cfg, prep.storage, prep.clock, market, forecast, upload=args.upload)
            day = prep.start.astimezone(tz).date()  # what the weather service said before the start
            for d in (day, day + timedelta(days=1)):
                await forecast(d)
        elif args.upload:
            parts = {"research_jobs": None}
        control = build_control(cfg, prep.storage, prep.clock, bus=bus, job_parts=parts)
        await twin.clear_sky(prep.start.astimezone(tz).date())  # warm the PV worker first
        devices = Devices(
            grid=SimGridMeter(twin),
            circuits=[SimCircuitMeter(twin, c) for c in twin.circuits],
            pv=SimPvInverter(twin),
        )
        real_cycle = cfg.site.cycle_seconds / args.speed if args.speed > 0 else 0.0
        printer = None if args.quiet else (lambda s: print(_line(s, tz), flush=False))
        state = Path(args.state) if args.state else None
        if state is None and cfg.api is not None:  # the API serves the live state from a file
            runtime = tempfile.mkdtemp(
                prefix="hems-demo-api-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None
            )
            state = Path(runtime) / "state.json"
        daemon = build_daemon(
            cfg,
            devices,
            prep.clock,
            storage=prep.storage,
            timeout_s=max(0.25, 0.8 * real_cycle),
            state_file=state,
            hooks=[control],
            on_snapshot=printer,
            config_path=args.config,
        )
        cycles = await run_until_signalled(daemon, start=prep.start, until=prep.until, stop_flag=stop_flag)
    finally:
        for agent in twin.agents.values():
            agent.disconnect(clean=True)
        twin.close()
        if runtime is not None:
            shutil.rmtree(runtime, ignore_errors=True)
    sys.stdout.flush()
    print(f"hems demo: {cycles} cycles stored in {prep.db}", file=sys.stderr)
    return 0


def dashboard_app(args: argparse.Namespace, cfg: HemsConfig, prep: _Prepared, state: Path) -> Any:
    """The dashboard (`tui.app.HemsApp`) with the simulated household's daemon as its background
    thread: the daemon starts when the dashboard is up and stops (flushing) when it closes."""
    from tui.app import HemsApp
    from tui.source import LocalSource

    args.state = str(state)
    args.quiet = True
    # worker processes (PV, forecast, planning) need multiprocessing's resource tracker, which is
    # started with the real stderr: start it now, before the dashboard takes the terminal over
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()

    def background(stop: threading.Event) -> None:
        asyncio.run(_simulate(args, cfg, prep, stop))

    # "no data since" after 3 cycles, or 2 s of real time at high speed
    stale = timedelta(seconds=max(3 * cfg.site.cycle_seconds, 2 * args.speed))
    return HemsApp(
        LocalSource(state, prep.db),
        ProjectedClock(prep.clock),
        background=background,
        timezone=cfg.site.timezone,
        stale_after=stale,
        # stored data (plan, today's energy, alerts) every 5 simulated minutes, at most once a second
        stored_seconds=max(1.0, min(30.0, 300.0 / args.speed)) if args.speed > 0 else 1.0,
    )


def _with_dashboard(args: argparse.Namespace, cfg: HemsConfig, prep: _Prepared) -> int:
    # worker processes (PV, forecast, planning) need multiprocessing's resource tracker, which is
    # started with the real stderr: start it now, before the dashboard takes the terminal over
    from multiprocessing import resource_tracker

    from tui import run_app

    resource_tracker.ensure_running()
    logging.getLogger().setLevel(logging.CRITICAL)  # the dashboard owns the terminal
    ram = "/dev/shm" if Path("/dev/shm").is_dir() else None  # the live state is rewritten every cycle
    runtime = Path(tempfile.mkdtemp(prefix="hems-demo-", dir=ram))
    try:
        run_app(dashboard_app(args, cfg, prep, runtime / "state.json"))
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    return 0


def _check_fail(names: list[str], cfg: HemsConfig) -> None:
    """``--fail`` must name a device the simulated household has (else nothing would ever fail)."""
    from devices.simulated.layout import household_circuits

    known = ["grid", "pv", *(c.id for c in household_circuits(cfg.site.network))]
    for name in names:
        if name not in known:
            raise UsageError(
                f"--fail: the simulated household has no device {name!r}; one of {', '.join(known)}"
            )


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.speed < 0:
        raise UsageError(f"--speed: expected a positive number (0: as fast as possible), got {args.speed}")
    from hems.twin import drivable, twin_config

    cfg = load_config(args.config) if args.config else HemsConfig()
    _check_fail(args.fail, cfg)
    _broker(args.mqtt)  # a malformed --mqtt is an error before anything starts
    cfg, notes = twin_config(cfg, drivers=drivable(cfg) if args.drivers else ())
    if args.mqtt:
        host, port = _broker(args.mqtt) or ("localhost", 1883)
        mqtt = (
            cfg.mqtt.model_copy(update={"host": host, "port": port})
            if cfg.mqtt
            else MqttConfig(host=host, port=port)
        )
        cfg = cfg.model_copy(update={"mqtt": mqtt})
    else:
        cfg = cfg.model_copy(update={"mqtt": None})  # in-process: the demo needs no broker
    for note in notes:
        logging.getLogger("hems.demo").info("twin: %s", note)
    prep = _prepare(args, cfg)
    try:
        if args.headless or not (sys.stdin.isatty() and sys.stdout.isatty()):
            return asyncio.run(_simulate(args, cfg, prep))
        return _with_dashboard(args, cfg, prep)
    finally:
        prep.storage.close()
        if prep.lock is not None:
            os.close(prep.lock)
