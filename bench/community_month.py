"""How long a community's month takes, start to end (read CSVs, check, allocate, bill), and the peak
memory it needs, by number of participants. Run by hand:
``python bench/community_month.py [N ...]`` (default 3 30 100 300), from the repository root."""

from __future__ import annotations

import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from zoneinfo import ZoneInfo

from community.members import load_members
from community.pipeline import run_month
from community.series import Period

TARIFF = "tariff = { spot = false, base_price_per_kwh = 0.20, vat_rate = 0.2 }"


def write_community(root: Path, n: int, key: str, period: Period) -> Path:
    rnd = random.Random(n)
    zone = ZoneInfo(period.tz)
    hours = [t.astimezone(zone).hour for t in period.slots]
    parts = []
    for i in range(n):
        rows = "\n".join(f"{t.isoformat()},{rnd.randint(20, 600)}" for t in period.slots)
        (root / f"p{i}.csv").write_text("start,wh\n" + rows + "\n")
        parts.append(
            f'[[participant]]\nid = "p{i}"\nrole = "consumer"\nconsumption = "p{i}.csv"\n'
            f"priority = {1 + i % 3}\n{TARIFF}\n"
        )
    roof = "\n".join(
        f"{t.isoformat()},{max(0, 40 * n * (6 - abs(h - 13))) + rnd.randint(0, 9)}"
        for t, h in zip(period.slots, hours, strict=True)
    )
    (root / "roof.csv").write_text("start,wh\n" + roof + "\n")
    parts.append(
        f'[[participant]]\nid = "roof"\nrole = "producer"\ninjection = "roof.csv"\npeak_kw = {n + 1}\n'
    )
    head = f'[community]\nname = "bench"\nscheme = "fr"\nkey = "{key}"\nprice_per_kwh = 0.12\n'
    path = root / f"members-{key}.toml"
    path.write_text(head + "\n" + "\n".join(parts))
    return path


def run(n: int, key: str) -> tuple[float, float, int]:
    """(seconds, peak MiB, slots): timed without tracing, then traced once for the memory."""
    with tempfile.TemporaryDirectory() as d:
        period = Period.month("2025-10", "Europe/Paris")  # 31 days, 2980 quarter-hours (DST)
        members, base = load_members(write_community(Path(d), n, key, period))
        t0 = time.perf_counter()
        month = run_month(members, base, period, None)
        seconds = time.perf_counter() - t0
        assert month.bill is not None, month.checked.errors[:3]
        tracemalloc.start()
        run_month(members, base, period, None)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return seconds, peak / 2**20, len(period)


def main(sizes: list[int]) -> None:
    print(
        f"{'participants':>12} {'key':>8} {'slots':>6} {'seconds':>8} {'ms/participant':>15} {'peak MiB':>9}"
    )
    for n in sizes:
        for key in ("prorata", "cascade"):
            seconds, mib, slots = run(n, key)
            print(f"{n:>12} {key:>8} {slots:>6} {seconds:>8.2f} {1000 * seconds / n:>15.1f} {mib:>9.1f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [3, 30, 100, 300])
