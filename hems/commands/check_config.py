"""`hems check-config FILE`: validate a configuration and say what it describes."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from hems.config import load_config
from hems.errors import UsageError

if TYPE_CHECKING:
    from hems.config import HemsConfig

NAME = "check-config"
HELP = "validate a hems.toml (exit 2 with file, key and what was expected on an error)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the configuration file (TOML)")


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.file)
    tariff_line = _tariff(cfg, args.file)
    site = cfg.site
    metered = sum(1 for c in cfg.circuit if c.meter is not None)
    print(f"{args.file}: ok")
    print(
        f"  site {site.id!r}: {site.network} {site.voltage_v:g} V, main fuse {site.main_fuse_a:g} A, "
        f"{site.timezone}, cycle {site.cycle_seconds:g} s"
    )
    print(f"  tariff: {tariff_line}")
    print(f"  smart meter: {cfg.meter.port if cfg.meter else 'none'}")
    print(f"  circuits: {len(cfg.circuit)} ({metered} metered)")
    print(f"  appliances: {len(cfg.appliance)}; MQTT: {'yes' if cfg.mqtt else 'no'}")
    print(f"  storage: {cfg.storage.path}; telemetry consent: {'yes' if cfg.telemetry.consent else 'no'}")
    return 0


def _tariff(cfg: HemsConfig, source: str) -> str:
    """What `hems run` will price with today, in one line; `UsageError` when it could not price."""
    from zoneinfo import ZoneInfo

    from hems.clock import SystemClock
    from tariffs.household import household_tariff

    t = cfg.tariff
    today = SystemClock().now().astimezone(ZoneInfo(cfg.site.timezone)).date()
    try:
        household = household_tariff(
            t, country=cfg.site.country, tz=cfg.site.timezone, site_main_fuse_a=cfg.site.main_fuse_a
        )
        grid = household.grid_tariff(today)
    except (ValueError, LookupError) as exc:
        raise UsageError(f"{source}: tariff: {exc}") from None
    scheme = {"stromstotte": "strømstøtte", "norgespris": "Norgespris", "none": "no support"}
    parts = []
    if grid is not None:
        area = f" ({grid.name})" if grid.name else ""
        parts.append(f"{grid.company}{area}, {t.customer_group}, capacity {grid.capacity.method}")
    else:
        parts.append("no grid company")
    if household.country == "NO":
        parts.append(scheme[household.scheme_on(today)])
    spot = f"spot {t.bidding_zone}" + (" (ENTSO-E)" if t.entsoe_token else " (no price source)")
    parts.append(spot if t.spot else "no spot price")
    return f"{'; '.join(parts)}; prices in {household.currency}"
