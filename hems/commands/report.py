"""`hems report`: what a day, week or month of the household's data adds up to.

``hems report --period day|week|month [--date YYYY-MM-DD] [--db PATH] [--config FILE]
[--json|--csv] [--png FILE]``. Without ``--date`` the report is about the newest day in the
database. With ``--config`` the report also has the cost (from [tariff], computed by tariffs/).
"""

from __future__ import annotations

import argparse
import json
import sys

from hems.errors import UsageError

NAME = "report"
HELP = "Daily, weekly or monthly energy report (kWh, peak hours, circuits, cost)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--period", choices=("day", "week", "month"), required=True)
    parser.add_argument("--date", help="a local day in the period, YYYY-MM-DD (default: the newest data)")
    parser.add_argument("--db", help="hems database (default: [storage].path of --config)")
    parser.add_argument("--config", help="hems.toml: time zone, tariff (for the cost), storage path")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--csv", action="store_true", help="print CSV: section,metric,value")
    parser.add_argument("--png", metavar="FILE", help="also draw the report as a PNG chart")


def run(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from hems.clock import SystemClock
    from hems.reports import build_report
    from hems.reports.cli_support import db_path, load, open_storage, parse_day
    from hems.reports.render import render_csv, render_text

    if args.png:
        from hems.reports.render import matplotlib_missing

        if (why := matplotlib_missing()) is not None:
            raise UsageError(why)
    cfg = load(args.config)
    path = db_path(args.db, cfg, args.config)
    tariff = None
    if args.config:
        from tariffs.household import household_tariff

        try:
            tariff = household_tariff(
                cfg.tariff,
                country=cfg.site.country,
                tz=cfg.site.timezone,
                site_main_fuse_a=cfg.site.main_fuse_a,
            )
        except ValueError as exc:
            raise UsageError(f"{args.config}: tariff: {exc}") from None
    with open_storage(path, readonly=True) as st:
        tz = ZoneInfo(cfg.site.timezone) if args.config else st.timezone
        day = parse_day(args.date)
        if day is None:
            newest = st.last_time() or SystemClock().now()
            day = newest.astimezone(tz).date()
        report = build_report(st, args.period, day, tz, tariff=tariff)
    if tariff is None:  # say so rather than leave the money out silently
        report.extras["cost"] = {"not_computed": "no tariff (add --config FILE with a [tariff] section)"}
    if args.png:
        from hems.reports.render import write_png

        try:
            write_png(report, args.png)
        except OSError as exc:
            raise UsageError(f"--png: cannot write {args.png}: {exc}") from None
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=1, ensure_ascii=False)
        print()
    elif args.csv:
        sys.stdout.write(render_csv(report))
    else:
        sys.stdout.write(render_text(report))
    return 0
