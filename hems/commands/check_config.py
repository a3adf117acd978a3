"""`hems check-config FILE`: validate a configuration and say what it describes."""

from __future__ import annotations

import argparse

from hems.config import load_config

NAME = "check-config"
HELP = "validate a hems.toml (exit 2 with file, key and what was expected on an error)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the configuration file (TOML)")


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.file)
    site = cfg.site
    metered = sum(1 for c in cfg.circuit if c.meter is not None)
    print(f"{args.file}: ok")
    print(
        f"  site {site.id!r}: {site.network} {site.voltage_v:g} V, main fuse {site.main_fuse_a:g} A, "
        f"{site.timezone}, cycle {site.cycle_seconds:g} s"
    )
    print(f"  smart meter: {cfg.meter.port if cfg.meter else 'none'}")
    print(f"  circuits: {len(cfg.circuit)} ({metered} metered)")
    print(f"  appliances: {len(cfg.appliance)}; MQTT: {'yes' if cfg.mqtt else 'no'}")
    print(f"  storage: {cfg.storage.path}; telemetry consent: {'yes' if cfg.telemetry.consent else 'no'}")
    return 0
