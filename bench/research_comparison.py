"""The social comparison at study size (by hand; prints a table).

Writes a store of N households x D days of batches (the `batches` table only: the comparison reads
nothing else) straight through the store's writer, compacts every month as the server does, then
times `GET /v1/comparison`'s work in-process (`research.comparison.routes.answer`: opening the
released views and computing one group's daily and monthly distributions), median of --repeat runs.

Usage: python bench/research_comparison.py [--dir DIR] [--households 100] [--days 365] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from research.comparison.compute import Ask  # noqa: E402
from research.comparison.routes import answer  # noqa: E402
from research.paths import DataDir  # noqa: E402
from research.store.tables import StoredBatch, batches_table  # noqa: E402
from research.store.writer import compact_household, write_day  # noqa: E402
from wire.comparison import parse_group  # noqa: E402

OSLO = ZoneInfo("Europe/Oslo")
GROUPS = [("heat_pump", False, True), ("electric_direct", True, False), ("district", False, False)]


def build(data: DataDir, households: int, days: int, rng: random.Random) -> list[str]:
    first = date(2025, 1, 1)
    ids = []
    for n in range(households):
        hid = "h-" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(26))
        heating, pv, ev = GROUPS[n % len(GROUPS)]
        site = {"postcode_prefix": f"10{n % 4}x", "country": "NO", "timezone": "Europe/Oslo",
                "network": "TN", "main_fuse_a": 25.0, "heating": heating, "pv": pv, "ev": ev}  # fmt: skip
        for i in range(days):
            day = first + timedelta(days=i)
            start = datetime(day.year, day.month, day.day, tzinfo=OSLO).astimezone(UTC)
            nxt = day + timedelta(days=1)
            end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=OSLO).astimezone(UTC)
            summary = {"coverage": 1.0, "house": {"import_kwh": round(rng.uniform(5, 40), 4)}}
            b = StoredBatch(f"{hid}/{day}", hid, day, site, start, end, 900, {}, summary, "hems bench")
            write_day(data.store, {"batches": batches_table(b, datetime.now(UTC), {})}, hid, day)
        compact_household(data.store, hid, "2099-01")
        ids.append(hid)
    return ids


def _first_group(data: DataDir, hid: str) -> bool:
    """The household is in the bench's first group (heat pump, no PV, EV)."""
    import pyarrow.parquet as pq

    files = sorted((data.store / "batches" / f"household={hid}").rglob("*.parquet"))
    return bool(pq.read_table(files[0]).column("heating")[0].as_py() == GROUPS[0][0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="/tmp/hems-research-comparison")
    ap.add_argument("--households", type=int, default=100)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the store (and reuse a kept one)")
    args = ap.parse_args()
    root = Path(args.dir)
    kept = args.keep and (root / "store" / "batches").is_dir()
    if not kept:
        shutil.rmtree(root, ignore_errors=True)
    data = DataDir(root).ensure()
    t0 = time.perf_counter()
    if kept:
        ids = sorted(p.name.removeprefix("household=") for p in (data.store / "batches").iterdir())
        ids = [next(i for i in ids if _first_group(data, i))]
    else:
        ids = build(data, args.households, args.days, random.Random(18))
    print(f"store: {args.households} households x {args.days} days in {time.perf_counter() - t0:.1f} s")
    ask = Ask("", parse_group("fuse=25,heating=heat_pump,pv=0,ev=1"), date(2025, 6, 1))
    for label, group in (("own group", ask.group), ("whole prefix", {})):
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            doc = answer(data, 5, ids[0], None, Ask("", group, ask.month))
            times.append(time.perf_counter() - t)
        homes = doc["monthly"]["homes"] if doc["monthly"] else None
        print(f"{label:<14} first {times[0]:.3f} s, median {statistics.median(times):.3f} s ({homes} homes)")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
