"""Research jobs on the box: a year of a household's data, one job, its time and memory.

Builds (once, cached under --db) a year of the twin household's data — the model of
devices.simulated (12 circuits and the grid import they add up to) every 5 minutes, written by the
daemon's own writer with every rollup — then runs jobs the way the daemon does (check, watched
worker process, isolated copy) and prints a table:

- wall time from the check to the result in the daemon [s] (target for the monthly mean load by hour
  over a year: <= 1 s);
- the worker's CPU seconds and rows read (the totem the job used);
- the worker's peak resident memory [MB] (all of it extra to the daemon: target <= 50 MB) and the
  daemon's own growth while running it.

Usage: python bench/research_jobs.py [--db /tmp/hems-bench-year.db] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from devices.simulated import Household  # noqa: E402
from hems.research_jobs.facts import wanted_channels  # noqa: E402
from hems.research_jobs.runner import run_checked  # noqa: E402
from hems.storage import SampleWriter, Storage, WriterSettings  # noqa: E402
from hems.telemetry.config import DEFAULT_CHANNELS  # noqa: E402
from wire.jobcheck import check_job  # noqa: E402
from wire.jobs import Job  # noqa: E402

TZ = ZoneInfo("Europe/Oslo")
YEAR = date(2025, 1, 1)


def year_db(path: Path) -> Path:
    if path.exists():
        return path
    print(f"building a year of data in {path} (once) ...", file=sys.stderr)
    st = Storage.open(path, timezone="Europe/Oslo")
    writer = SampleWriter(st, WriterSettings(batch_cycles=2000, batch_seconds=1e9))
    house = Household(5, "Europe/Oslo")
    t0 = datetime(YEAR.year, 1, 1, tzinfo=TZ).astimezone(UTC)
    for i in range(366 * 288 + 1):
        t = t0 + timedelta(minutes=5 * i)
        house.advance(t)
        circuits = house.circuit_power_w(t)
        values = {f"circuit.{k}.p_w": v for k, v in circuits.items()}
        values["grid.p_import_w"] = sum(circuits.values())
        values["grid.p_export_w"] = 0.0
        writer.add(t, values)
    writer.close()
    st.close()
    return path


def job(name: str, sql: str, keys: list[str], outputs: list[dict[str, object]], channels: list[str]) -> Job:
    return Job.from_dict(
        {
            "schema": "hems-job/1",
            "id": name,
            "title": name,
            "purpose": "bench",
            "researcher": "bench",
            "categories": ["household", "circuits"],
            "created_at": "2026-01-01T00:00:00+00:00",
            "expires_at": "2099-01-01T00:00:00+00:00",
            "period": {"start": YEAR.isoformat(), "end": "2026-01-01"},
            "channels": channels,
            "sql": sql,
            "keys": keys,
            "outputs": outputs,
            "budget": {
                "cpu_seconds": 30,
                "rows_read": 50_000_000,
                "output_cells": 100_000,
                "memory_mb": 1024,
            },
            "k": 10,
            "privacy": None,
        }
    )


MONTHLY = (
    "SELECT month, hour, AVG(mean) AS mean_w, COUNT(*) AS hours FROM series_1h"
    " WHERE channel = 'grid.p_import_w' GROUP BY month, hour"
)
JOBS = [
    ("monthly mean load by hour (1 h, import only)", MONTHLY, ["grid.p_import_w"]),
    ("the same, the copy holding every household and circuit channel", MONTHLY, ["grid.*", "circuit.*"]),
    (
        "monthly mean load by hour from 15-min slots, with quantiles",
        MONTHLY.replace("series_1h", "series_15m").replace("COUNT(*) AS hours", "quantiles(mean) AS q"),
        ["grid.p_import_w"],
    ),
]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="/tmp/hems-bench-year.db")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    db = year_db(Path(args.db))
    with Storage.open(db, readonly=True) as st:
        stored = st.channels()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average {load}; {args.runs} runs each")
    head = f"{'wall s (median/max)':>20} {'cpu s':>6} {'rows read':>10} {'worker MB':>9} {'daemon +MB':>10}"
    print(f"{'job':<66} {head}")
    for title, sql, patterns in JOBS:
        outputs: list[dict[str, object]] = [{"name": "mean_w", "kind": "mean"}]
        outputs.append(
            {"name": "q", "kind": "quantiles", "q": [0.5, 0.9]}
            if "quantiles" in sql
            else {"name": "hours", "kind": "count"}
        )
        j = job("bench", sql, ["month", "hour"], outputs, patterns)
        channels = wanted_channels(stored, j.channels, list(DEFAULT_CHANNELS))
        walls, cpus, peaks, growth = [], [], [], []
        rows = 0
        for _ in range(args.runs):
            before = rss_mb()
            started = time.perf_counter()
            outcome = run_checked(check_job(j), db, channels=channels, facts={}, k=j.k)
            walls.append(time.perf_counter() - started)
            growth.append(rss_mb() - before)
            assert outcome.ok and len(outcome.groups) == 12 * 24, outcome.reason
            cpus.append(outcome.usage["cpu_s"])
            peaks.append(outcome.usage["peak_rss_mb"])
            rows = outcome.usage["rows_read"]
        wall = f"{statistics.median(walls):.2f} / {max(walls):.2f}"
        print(
            f"{title:<66} {wall:>20} {statistics.median(cpus):>6.2f} {rows:>10} {max(peaks):>9.1f}"
            f" {max(growth):>10.1f}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this process's peak RSS {peak:.0f} MB, sqlglot included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
