"""Benchmark: what the box saves, and how fast the evaluation runs (by hand; prints a table).

    python bench/evaluate.py [--seeds 1,2,3] [--days 30] [--cases january,july] [--drivers [LIST]]
                             [--heat-pump]

The loop issue's targets, measured with `hems evaluate` (the same code as the command):

- january: 30 January days from 2026-01-01, NO1, Elvia, a 3×25 A TN house with an EV, a water
  heater, a dishwasher and a washing machine: hems captures ≥ 90 % of the oracle's savings over
  none, saves more than rule, misses no deadline, has no more overload events than rule;
- july: 30 July days from 2026-07-01, the same house with 8 kWp PV and a 10 kWh / 5 kW battery: the
  same, and PV self-consumption up (hems over none);
- 30 days × 4 strategies in ≤ 120 s wall time (the "s" column: world, oracle and all four runs).

``--drivers``: the hems box drives the water heater through its real Shelly driver (a simulated
Shelly on the in-process bus) and the EV through its real OCPP driver (a simulated charge point on a
websocket), as `hems evaluate --drivers` does. ``--heat-pump``: the house gets the twin's SG Ready
heat pump, as `hems evaluate --heat-pump` does; the oracle cannot move it, so instead of the share
the table gives hems's saving over none and rule and the heat pump's figures (the target: hems
saves more than both and misses no deadline; the tank's coldest temperature is printed: a block
lets it fall to the block state's 35 °C guard, where the heat pump heats again).

Other engineers share the CPU: the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hems.config import parse_config  # noqa: E402
from hems.evaluate import EVALUATE_DRIVEN_DEFAULT, evaluate  # noqa: E402

APPLIANCES = [
    {"id": "dishwasher", "kind": "shiftable", "circuit": "dishwasher", "line": "L1"},
    {"id": "washer", "kind": "shiftable", "circuit": "washer", "line": "L2"},
    {
        "id": "ev",
        "kind": "energy",
        "circuit": "ev-charger",
        "line": "3P",
        "sheddable": True,
        "interruptible": True,
        "shed_action": "limit",
        "min_kw": 4.14,
        "priority": 1,
    },
    {
        "id": "water-heater",
        "kind": "thermal",
        "circuit": "water-heater",
        "line": "L3",
        "sheddable": True,
        "interruptible": True,
        "power_kw": 2.0,
        "priority": 2,
    },
]
HOUSE = {
    "site": {"network": "TN", "voltage_v": 230, "main_fuse_a": 25},
    "tariff": {"grid_company": "Elvia", "bidding_zone": "NO1"},
}
CASES: dict[str, tuple[date, dict[str, Any]]] = {
    "january": (date(2026, 1, 1), {**HOUSE, "pv": {"array": []}, "appliance": APPLIANCES}),
    "july": (
        date(2026, 7, 1),
        {
            **HOUSE,
            "pv": {"array": [{"name": "roof", "kwp": 8.0}], "weather": {"source": "none"}},
            "appliance": [
                *APPLIANCES,
                {"id": "battery", "kind": "battery", "capacity_kwh": 10.0, "power_kw": 5.0},
            ],
        },
    ),
}
NAMES = ("none", "rule", "hems", "oracle")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--cases", default="january,july")
    parser.add_argument(
        "--drivers",
        nargs="?",
        const=",".join(EVALUATE_DRIVEN_DEFAULT),
        metavar="LIST",
        help="these behind their real drivers (alone: the water heater and EV; battery: SunSpec, slow)",
    )
    parser.add_argument("--heat-pump", action="store_true", help="the twin's SG Ready heat pump in the house")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if args.heat_pump:
        return heat_pump_table(args)
    command = f"python bench/evaluate.py --seeds {args.seeds} --days {args.days}"
    command += f" --drivers {args.drivers}" if args.drivers else ""
    print(f"# {command}   load average at start: {load()}")
    head = (
        f"{'case':<8} {'seed':>4} "
        + " ".join(f"{n + ' ' + 'NOK':>11}" for n in NAMES)
        + f" {'share':>7} {'>rule':>5} {'missed':>6} {'overl h/r':>9} {'PVsc n→h':>11} {'s':>6}"
    )
    print(head)
    print("-" * len(head))
    verdicts = []
    for case, seed, doc, seconds in runs(args):
        s = doc["strategies"]
        share = doc["hems_share_of_oracle_savings"]
        beats_rule = s["hems"]["bill"]["total"] < s["rule"]["bill"]["total"]
        missed = s["hems"]["deadlines_missed"]
        over = (s["hems"]["overload_events"], s["rule"]["overload_events"])
        pv = (s["none"]["pv_self_consumption_share"], s["hems"]["pv_self_consumption_share"])
        pv_text = "—" if pv[0] is None else f"{pv[0]:.3f}→{pv[1]:.3f}"
        print(
            f"{case:<8} {seed:>4} "
            + " ".join(f"{s[n]['bill']['total']:>11.2f}" for n in NAMES)
            + f" {share * 100 if share is not None else float('nan'):>6.1f}%"
            + f" {'yes' if beats_rule else 'no':>5}"
            + f" {missed:>6} {over[0]:>4}/{over[1]:<4} {pv_text:>11} {seconds:>6.1f}",
            flush=True,
        )
        ok = share is not None and share >= 0.9 and beats_rule and missed == 0 and over[0] <= over[1]
        if pv[0] is not None:
            ok = ok and pv[1] > pv[0]
        verdicts.append((case, seed, ok, seconds))
    print("-" * len(head))
    for case, seed, ok, seconds in verdicts:
        speed = "≤ 120 s" if seconds <= 120 else "> 120 s"
        print(f"{case} seed {seed}: savings targets {'met' if ok else 'NOT met'}; {speed}")
    print(f"load average at the end: {load()}")
    return 0


def runs(
    args: argparse.Namespace, heat_pump: bool = False
) -> Iterator[tuple[str, int, dict[str, Any], float]]:
    """(case, seed, `hems evaluate`'s document, wall seconds) for every case and seed asked for."""
    drivers = tuple(args.drivers.split(",")) if args.drivers else ()
    for case in args.cases.split(","):
        first, doc_cfg = CASES[case]
        cfg = parse_config(doc_cfg)
        for seed in (int(s) for s in args.seeds.split(",")):
            began = time.perf_counter()
            doc, _ = evaluate(
                cfg, first, args.days, seed=seed, zone="NO1", drivers=drivers, heat_pump=heat_pump
            )
            yield case, seed, doc, time.perf_counter() - began


def heat_pump_table(args: argparse.Namespace) -> int:
    """The cases with the twin's SG Ready heat pump (see the module docstring)."""
    flags = (f" --drivers {args.drivers}" if args.drivers else "") + " --heat-pump"
    print(f"# python bench/evaluate.py --seeds {args.seeds} --days {args.days}{flags}   load: {load()}")
    head = (
        f"{'case':<8} {'seed':>4} "
        + " ".join(f"{n + ' ' + 'NOK':>11}" for n in NAMES)
        + f" {'h-none':>7} {'h-rule':>7} {'HP kWh n/h':>11} {'HP NOK n/h':>13} {'boost/block h':>13}"
        + f" {'tank h/r':>10} {'missed':>6} {'s':>6}"
    )
    print(head)
    print("-" * len(head))
    verdicts = []
    for case, seed, doc, seconds in runs(args, heat_pump=True):
        s = doc["strategies"]
        hp = {n: s[n]["heat_pumps"]["heat-pump"] for n in NAMES}
        vs_none = s["none"]["bill"]["total"] - s["hems"]["bill"]["total"]
        vs_rule = s["rule"]["bill"]["total"] - s["hems"]["bill"]["total"]
        missed = s["hems"]["deadlines_missed"]
        states = hp["hems"]["hours_in_state"]
        print(
            f"{case:<8} {seed:>4} "
            + " ".join(f"{s[n]['bill']['total']:>11.2f}" for n in NAMES)
            + f" {vs_none:>7.2f} {vs_rule:>7.2f}"
            + f" {hp['none']['kwh']:>5.0f}/{hp['hems']['kwh']:<5.0f}"
            + f" {hp['none']['energy_cost']:>6.1f}/{hp['hems']['energy_cost']:<6.1f}"
            + f" {states['boost']:>6.1f}/{states['block']:<6.1f}"
            + f" {hp['hems']['coldest_tank_c']:>4.1f}/{hp['rule']['coldest_tank_c']:<5.1f}"
            + f" {missed:>6} {seconds:>6.1f}",
            flush=True,
        )
        verdicts.append((case, seed, vs_none > 0, vs_rule > 0, missed == 0))
    print("-" * len(head))
    for case, seed, over_none, over_rule, in_time in verdicts:
        print(
            f"{case} seed {seed}: hems saves over none: {'yes' if over_none else 'NO'}; over rule: "
            f"{'yes' if over_rule else 'NO'}; every deadline kept: {'yes' if in_time else 'NO'}"
        )
    print(f"load average at the end: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
