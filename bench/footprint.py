"""Footprint of the daemon on a simulated household (a grid meter plus 12 circuits and PV).

Prints a table:
- daemon RSS after 10 simulated minutes [MB] (target <= 80; pvlib/pyomo live in worker processes),
- CPU seconds per simulated hour at real cadence (batches of 6 cycles, as one transaction per minute
  of wall time gives at 10-s cycles),
- bytes written per simulated day [MB] (target <= 20): every byte the daemon process write()s, from
  /proc/<pid>/io (wchar: database, WAL and checkpoints; no state file, no output),
- database size per simulated year [MB], extrapolated per table from one simulated day with the
  default retention (raw 14 days, 1-min 90 days, 15-min/hourly/daily kept).

Usage: python bench/footprint.py [--day 2026-01-15]
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """
[site]
cycle_seconds = 10
[storage]
batch_cycles = 6          # one transaction per minute, as at real cadence
batch_seconds = 60
"""


def proc_stat(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    status = Path(f"/proc/{pid}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            out["rss_mb"] = int(line.split()[1]) / 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = 100.0
    out["cpu_s"] = (int(fields[11]) + int(fields[12])) / ticks
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        key, value = line.split(":")
        out[key] = int(value)
    return out


def newest(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT COALESCE(MAX(t_last) - MIN(t), 0) FROM sample").fetchone()[0]
    except sqlite3.Error:
        return 0


def run_until(
    db: Path, cfg: Path, speed: str, stop_after: str, day: str, sample_at_s: int | None
) -> dict[str, float]:
    """Run the headless demo; return /proc figures at ``sample_at_s`` simulated seconds (or at exit)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hems",
            "demo",
            "--headless",
            "--quiet",
            "--config",
            str(cfg),
            "--speed",
            speed,
            "--stop-after",
            stop_after,
            "--db",
            str(db),
            "--start",
            day,
        ],
        stdout=subprocess.DEVNULL,
    )
    last: dict[str, float] = {}
    try:
        while proc.poll() is None:
            try:
                last = proc_stat(proc.pid)
            except (FileNotFoundError, ProcessLookupError):
                break
            if sample_at_s is not None and newest(db) >= sample_at_s:
                return last
            time.sleep(0.05)
        return last
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait()


def table_sizes(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--day", default="2026-01-15")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "hems.toml"
        cfg.write_text(CONFIG)
        rss = run_until(Path(tmp) / "rss.db", cfg, "60", "20m", args.day, 600)
        hour = run_until(Path(tmp) / "cpu.db", cfg, "0", "1h", args.day, None)
        base = run_until(Path(tmp) / "base.db", cfg, "0", "10s", args.day, None)  # start-up only
        db = Path(tmp) / "day.db"
        day = run_until(db, cfg, "0", "1d", args.day, None)
        sizes = table_sizes(db)
    per_day = {
        "sample": 14,
        "rollup_1m": 90,
        "rollup_15m": 365,
        "rollup_1h": 365,
        "rollup_1d": 365,
        "frame": 7,
        "frame_t": 7,
    }
    year = sum(size * per_day.get(name, 1) for name, size in sizes.items())
    rows = [
        ("daemon RSS after 10 simulated minutes", f"{rss.get('rss_mb', float('nan')):.1f} MB", "<= 80 MB"),
        ("CPU per simulated hour at real cadence", f"{hour['cpu_s'] - base['cpu_s']:.2f} s", ""),
        ("bytes written per simulated day", f"{(day['wchar'] - base['wchar']) / 1e6:.1f} MB", "<= 20 MB"),
        ("  of which to the block device", f"{(day['write_bytes'] - base['write_bytes']) / 1e6:.1f} MB", ""),
        ("database size after one day", f"{sum(sizes.values()) / 1e6:.1f} MB", ""),
        ("database size per simulated year", f"{year / 1e6:.0f} MB", "(extrapolated)"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>10}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>10}  {target}")


if __name__ == "__main__":
    main()
