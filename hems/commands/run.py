"""`hems run --config hems.toml`: the daemon on the household's real devices."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from hems.app import (
    build_daemon,
    close_devices,
    open_devices,
    open_storage,
    real_devices,
    run_until_signalled,
)
from hems.clock import SystemClock
from hems.config import load_config
from hems.errors import UsageError

NAME = "run"
HELP = "run the daemon on the configured devices"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="the configuration file (TOML)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
    if args.log_level != "DEBUG":  # each device's failure is logged once, in words, by hems.polling;
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # the library's frame dumps are noise
    cfg = load_config(args.config)
    clock = SystemClock()
    devices = real_devices(cfg, clock, args.config)
    if devices.grid is None and not devices.circuits:
        raise UsageError(f"{args.config}: no devices: configure [meter] and/or [[circuit]] with a meter")
    storage = open_storage(cfg.storage.path, cfg)
    state_file = Path(cfg.storage.state_file)
    try:
        state_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        state_file = Path(cfg.storage.path).with_suffix(".state.json")
    daemon = build_daemon(
        cfg, devices, clock, storage=storage, state_file=state_file, config_path=args.config
    )

    async def main() -> None:
        await open_devices(devices)
        try:
            await run_until_signalled(daemon)
        finally:
            await close_devices(devices)

    try:
        asyncio.run(main())
    finally:
        storage.close()
    return 0
