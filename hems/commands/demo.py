"""`hems demo`: the whole box on a simulated household (the digital twin), no hardware, no broker.

Simulated time starts at local midnight of ``--start`` (default today) — or, when the database
already holds data, right after its newest sample (a second run resumes) — and runs ``--speed``
times faster than real time. ``--stop-after`` bounds the simulated time of this run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hems.app import build_daemon, open_storage, run_until_signalled
from hems.clock import SimClock, SystemClock
from hems.config import HemsConfig, load_config
from hems.durations import parse_date, parse_duration
from hems.errors import UsageError
from hems.snapshot import Snapshot

NAME = "demo"
HELP = "run the whole box on a simulated household (no hardware needed)"


def default_db() -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "hems" / "demo.db"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="a hems.toml: household, tariff, postcode (devices are simulated)")
    parser.add_argument("--headless", action="store_true", help="no dashboard: one line per cycle")
    parser.add_argument("--speed", type=float, default=60.0, help="simulated seconds per real second")
    parser.add_argument("--stop-after", help="stop after this much simulated time (2h, 26h, 10m)")
    parser.add_argument("--db", help=f"SQLite database (default {default_db()})")
    parser.add_argument("--seed", type=int, default=1, help="the household's random seed")
    parser.add_argument("--start", help="first simulated day, YYYY-MM-DD (default today)")
    parser.add_argument("--state", help="write the live state JSON here (for a dashboard)")
    parser.add_argument("--quiet", action="store_true", help="headless without the per-cycle lines")
    parser.add_argument(
        "--fail",
        action="append",
        default=[],
        metavar="DEVICE",
        help="make a simulated device fail (for trying out alerts and backoff)",
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


async def _demo(args: argparse.Namespace, cfg: HemsConfig) -> int:
    from devices.simulated import SimCircuitMeter, SimGridMeter, SimPvInverter, Twin
    from hems.daemon import Devices

    tz = ZoneInfo(cfg.site.timezone)
    db = Path(args.db) if args.db else default_db()
    storage = open_storage(db, cfg)
    try:
        last = storage.last_time()
        if last is not None:
            start = last + timedelta(seconds=cfg.site.cycle_seconds)
            print(f"hems demo: resuming {db} at {start.astimezone(tz):%Y-%m-%d %H:%M:%S}", file=sys.stderr)
        else:
            day = (
                parse_date(args.start, "--start") if args.start else SystemClock().now().astimezone(tz).date()
            )
            start = datetime(day.year, day.month, day.day, tzinfo=tz)
        until = start + parse_duration(args.stop_after, "--stop-after") if args.stop_after else None
        clock = SimClock(start, args.speed)
        pv_kwp = sum(a.kwp for a in cfg.pv.array) if cfg.pv and cfg.pv.array else 6.0
        twin = Twin(
            clock,
            seed=args.seed,
            timezone=cfg.site.timezone,
            network=cfg.site.network,
            voltage_v=cfg.site.voltage_v,
            latitude=cfg.site.latitude,
            longitude=cfg.site.longitude,
            pv_kwp=pv_kwp,
            fail={d: "error" for d in args.fail},
        )
        # the simulator replaces the configured devices: the household's circuits are the twin's
        from devices.modbus.config import CircuitConfig

        cfg = cfg.model_copy(
            update={
                "circuit": [
                    CircuitConfig(id=c.id, name=c.name, line=c.line, breaker_a=c.breaker_a, curve=c.curve)
                    for c in twin.circuits
                ],
                "meter": None,
            }
        )
        try:
            await twin.state(start)  # warm the PV worker before the clock starts running
            devices = Devices(
                grid=SimGridMeter(twin),
                circuits=[SimCircuitMeter(twin, c) for c in twin.circuits],
                pv=SimPvInverter(twin),
            )
            circuits = [
                {"id": c.id, "name": c.name, "line": c.line, "breaker_a": c.breaker_a, "curve": c.curve}
                for c in twin.circuits
            ]
            real_cycle = cfg.site.cycle_seconds / args.speed if args.speed > 0 else 0.0
            printer = None if args.quiet else (lambda s: print(_line(s, tz), flush=False))
            daemon = build_daemon(
                cfg,
                devices,
                clock,
                storage=storage,
                circuits_info=circuits,
                timeout_s=max(0.25, 0.8 * real_cycle),
                state_file=Path(args.state) if args.state else None,
                on_snapshot=printer,
            )
            cycles = await run_until_signalled(daemon, start=start, until=until)
        finally:
            twin.close()
        sys.stdout.flush()
        print(f"hems demo: {cycles} cycles stored in {db}", file=sys.stderr)
    finally:
        storage.close()
    return 0


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.speed < 0:
        raise UsageError(
            f"--speed: expected a positive number (or 0 for as fast as possible), got {args.speed}"
        )
    cfg = load_config(args.config) if args.config else HemsConfig()
    return asyncio.run(_demo(args, cfg))
