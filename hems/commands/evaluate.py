"""`hems evaluate`: what the box saves — the twin over a period under several strategies, each facing
the same household, weather and prices (docs/evaluate.md).

``hems evaluate [--config FILE] --start YYYY-MM-DD --days N [--seed S] [--zone NO1..NO5]
[--strategies none,rule,hems,oracle] [--drivers] [--db-dir DIR] [--json] [--png FILE]``
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from hems.errors import UsageError

NAME = "evaluate"
HELP = "what the box saves: the simulated household under none, rule, hems and oracle strategies"
ZONES = ("NO1", "NO2", "NO3", "NO4", "NO5")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", help="a hems.toml: household, tariff, PV, appliances (devices are simulated)"
    )
    parser.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--days", required=True, type=int, help="number of days (1..62)")
    parser.add_argument(
        "--seed", type=int, default=1, help="the household, its weather and prices (default 1)"
    )
    parser.add_argument("--zone", help="bidding zone NO1..NO5 (default: [tariff].bidding_zone)")
    parser.add_argument(
        "--strategies",
        default="none,rule,hems,oracle",
        help="comma-separated, from none, rule, hems, oracle (default: all four)",
    )
    parser.add_argument(
        "--drivers",
        nargs="?",
        const="water-heater,ev",
        metavar="LIST",
        help="the hems box drives these twin appliances through their real drivers (simulated devices; "
        "docs/evaluate.md): water-heater (Shelly), ev (OCPP), battery (SunSpec over Modbus TCP, its "
        "loop every 10 s: slow); alone: water-heater,ev",
    )
    parser.add_argument(
        "--heat-pump",
        action="store_true",
        help="add the twin's SG Ready heat pump to the house (the hems box drives it through its real "
        "SG Ready driver; docs/evaluate.md)",
    )
    parser.add_argument(
        "--db-dir", help="keep each strategy's database here as DIR/NAME.db (hems report reads it)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--png", metavar="FILE", help="also draw the cumulative bill and daily peaks")


def _names(flag: str, text: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list of distinct names from ``allowed``, or one clear error."""
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [n for n in names if n not in allowed]
    if not names or bad or len(set(names)) != len(names):
        raise UsageError(f"{flag}: expected a comma-separated list of {', '.join(allowed)}, got {text!r}")
    return names


def _strategies(text: str) -> tuple[str, ...]:
    from hems.evaluate import STRATEGIES

    return _names("--strategies", text, STRATEGIES)


def _drivers(text: str | None) -> tuple[str, ...]:
    from hems.evaluate import EVALUATE_DRIVEN

    return () if text is None else _names("--drivers", text, EVALUATE_DRIVEN)


def run(args: argparse.Namespace) -> int:
    from hems.config import HemsConfig, load_config
    from hems.durations import parse_date
    from hems.evaluate import evaluate

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("hems.control").setLevel(logging.ERROR)  # a month of shedding is not news here
    first = parse_date(args.start, "--start")
    if not 1 <= args.days <= 62:
        raise UsageError(f"--days: expected 1..62, got {args.days}")
    if args.zone is not None and args.zone not in ZONES:
        raise UsageError(f"--zone: expected one of {', '.join(ZONES)}, got {args.zone!r}")
    strategies = _strategies(args.strategies)
    cfg = load_config(args.config) if args.config else HemsConfig()
    zone = args.zone or cfg.tariff.bidding_zone
    if zone not in ZONES:
        raise UsageError(
            f"{args.config or '<defaults>'}: tariff.bidding_zone: simulated prices exist for "
            f"{', '.join(ZONES)}, got {zone!r} (give --zone)"
        )
    db_dir = None
    if args.db_dir:
        db_dir = Path(args.db_dir)
        try:
            db_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--db-dir: cannot create {db_dir}: {exc}") from None
    try:
        doc, detail = evaluate(
            cfg,
            first,
            args.days,
            seed=args.seed,
            zone=zone,
            strategies=strategies,
            db_dir=db_dir,
            drivers=_drivers(args.drivers),
            heat_pump=args.heat_pump,
        )
    except ValueError as exc:
        where = "" if str(exc).startswith("--") else f"{args.config or '<defaults>'}: "
        raise UsageError(f"{where}{exc}") from None
    if args.png:
        from hems.evaluate.render import write_png

        try:
            write_png(detail["world"], detail["results"], args.png)
        except ImportError:
            raise UsageError("--png needs matplotlib: pip install 'hems[charts]'") from None
        except OSError as exc:
            raise UsageError(f"--png: cannot write {args.png}: {exc}") from None
    if args.json:
        json.dump(doc, sys.stdout, indent=1)
        print()
    else:
        from hems.evaluate.render import text_table

        sys.stdout.write(text_table(doc))
    return 0
