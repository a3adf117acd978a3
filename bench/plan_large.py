"""The planner on the issue-23 sizes (run by hand; prints a table):

1. one day, 3x25 A, capacity tariff, the winter example's EV, water heater and battery, plus 50
   shiftable programs — the same program 50 times (the test's case: every start is as good as its
   twin's, the hardest for branch and bound), and 50 different ones (five kinds, windows and lines
   varied);
2. seven days x 15 min of the typical house: the winter example's day repeated (3 programs a day,
   the EV every night, the water heater's draws, the battery, the capacity tariff over the week).

Each case is solved to a relative gap of 1e-3 (0.1 %) with a 60-s limit; the figures are wall time
of `plan_scenario` (building included), the status and the proven gap.

    python bench/plan_large.py [--repeat 3] [--gap 1e-3]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimiser.plan import plan_scenario  # noqa: E402

WINTER = ROOT / "examples" / "scenarios" / "norway_winter.toml"
KINDS = [  # (profile per 15 min [kW], window hours)
    ([1.9, 1.9, 0.2, 0.2, 0.2, 0.2, 1.8, 1.8], 8),
    ([2.1, 2.1, 0.4, 0.3, 0.3, 0.5], 10),
    ([2.4, 2.4, 2.4, 1.2], 12),
    ([2.0, 1.5, 1.5, 0.5], 18),
    ([1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 6),
]


def winter() -> dict[str, Any]:
    return tomllib.loads(WINTER.read_text(encoding="utf-8"))


def fifty_same() -> dict[str, Any]:
    sc = winter()
    sc["appliance"] += [
        {
            "id": f"p{i}",
            "kind": "shiftable",
            "profile_kw": [2.0, 1.5, 1.5, 0.5],
            "earliest_start": "2026-01-15T06:00:00+01:00",
            "latest_end": "2026-01-16T00:00:00+01:00",
            "line": ("L1", "L2", "L3")[i % 3],
        }
        for i in range(50)
    ]
    return sc


def fifty_varied() -> dict[str, Any]:
    sc = winter()
    day = datetime.fromisoformat(sc["horizon"]["start"])
    for i in range(50):
        profile, hours = KINDS[i % len(KINDS)]
        start = day + timedelta(minutes=30 * ((7 * i) % 24))
        end = min(start + timedelta(hours=hours), day + timedelta(days=1))
        sc["appliance"].append(
            {
                "id": f"p{i}",
                "kind": "shiftable",
                "profile_kw": profile,
                "earliest_start": start.isoformat(),
                "latest_end": end.isoformat(),
                "line": ("L1", "L2", "L3")[(i // len(KINDS)) % 3],
            }
        )
    return sc


def week() -> dict[str, Any]:
    one = winter()
    days = 7
    sc = copy.deepcopy(one)
    sc["horizon"]["slots"] = 96 * days
    for key in ("import_price_per_kwh", "base_load_kw"):
        sc["series"][key] = one["series"][key] * days
    sc["appliance"] = []
    for d in range(days):
        shift = timedelta(days=d)
        for app in one["appliance"]:
            a = copy.deepcopy(app)
            a["id"] = f"{app['id']}-{d}"
            for key in ("earliest_start", "latest_end"):
                if key in a:
                    a[key] = (datetime.fromisoformat(a[key]) + shift).isoformat()
            if a["kind"] == "thermal":
                continue
            sc["appliance"].append(a)
    heater = next(a for a in one["appliance"] if a["kind"] == "thermal")
    heater = copy.deepcopy(heater) | {"draw_kwh": heater["draw_kwh"] * days}
    sc["appliance"].append(heater)
    return sc


CASES = [
    ("one day: 50 identical programs + EV, water heater, battery", fifty_same),
    ("one day: 50 varied programs + EV, water heater, battery", fifty_varied),
    ("7 days x 15 min: the typical house (21 programs, 7 EV nights)", week),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--gap", type=float, default=1e-3)
    ap.add_argument("--time-limit", type=float, default=60.0)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"# python bench/plan_large.py --repeat {args.repeat} --gap {args.gap}  ({cores} core(s) used)")
    print(f"{'case':<64} {'status':<10} {'objective':>10} {'gap':>8} {'median s':>9} {'worst s':>8}")
    for name, make in CASES:
        times, result = [], None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            result = plan_scenario(make(), gap=args.gap, time_limit=args.time_limit)
            times.append(time.perf_counter() - t0)
        assert result is not None
        gap = result.get("mip_gap")
        gap_text = "—" if gap is None else f"{gap:.2e}"
        print(
            f"{name:<64} {result['status']:<10} {result['objective']:>10.2f} {gap_text:>8} "
            f"{statistics.median(times):>9.2f} {max(times):>8.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
