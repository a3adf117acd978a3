"""`hems forecast`: PV and base-load forecast per quarter-hour slot of one local day.

Reads the config (site, [pv]), the weather (``--weather FILE``, else MET Norway's API when
``[pv.weather] contact`` is set, else clear-sky) and, with ``--db``, the measured history; the
computation itself runs in a worker process (`optimiser.forecast.worker`). pvlib is never imported
here.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from typing import Any

from hems.errors import UsageError
from hems.forecast import history_input, make_request

NAME = "forecast"
HELP = "PV and base-load forecast per 15-min slot of a day (pvlib, MET Norway weather)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", required=True, help="local day to forecast, YYYY-MM-DD")
    parser.add_argument("--json", action="store_true", help="print the full answer as JSON")
    parser.add_argument("--config", metavar="FILE", help="hems.toml (site location, [pv])")
    parser.add_argument("--db", metavar="PATH", help="hems database: measured PV and load history")
    parser.add_argument("--weather", metavar="FILE", help="a saved MET locationforecast compact JSON")
    parser.add_argument("--timeout", type=float, default=120.0, help="worker time limit [s]")


def _warn(message: str) -> None:
    print(f"hems forecast: warning: {message}", file=sys.stderr)


def build_request(args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    """The request for the command line's arguments (`make_request` + ``--db``)."""
    from hems.config import load_config, parse_config

    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        raise UsageError(f"--date: expected YYYY-MM-DD, got {args.date!r}") from None
    cfg = load_config(args.config) if args.config else parse_config({}, "<defaults>")
    request = make_request(cfg, day, now, weather_file=args.weather)
    if args.db:
        request.update(history_input(args.db, day, cfg))
    return request


def run(args: argparse.Namespace) -> int:
    from hems.clock import SystemClock
    from optimiser.forecast.worker import ForecastTimeout, forecast_in_subprocess

    request = build_request(args, SystemClock().now())
    for w in request["warnings"]:
        _warn(w)
    try:
        answer = forecast_in_subprocess(request, timeout_s=args.timeout)
    except ForecastTimeout as exc:
        print(f"hems forecast: {exc}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(answer, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    src = answer["sources"]
    print(f"{answer['date']} ({answer['timezone']}): {answer['n_slots']} slots")
    if "pv" in src:
        print(f"PV   {src['pv']}")
    else:
        print(f"PV   {answer['pv_kwh']:8.2f} kWh   weather: {src.get('weather')}")
    print(f"load {answer['load_kwh']:8.2f} kWh   {src['load']['note']}")
    if answer.get("accuracy"):
        s = answer["accuracy"]["summary"]
        skill = "n/a" if s.get("skill") is None else f"{s['skill']:.2f}"
        print(f"accuracy over {s['days']} day(s): MAE {s['mae_w']:.0f} W, skill vs persistence {skill}")
    return 0
