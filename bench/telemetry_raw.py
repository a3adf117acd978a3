"""Bytes per day of raw telemetry (`[telemetry] resolution = "raw"`) from the simulated household.

Runs `hems demo` headless over one simulated day (a 3-phase smart meter and 12 fuse circuits at
10-s cycles), builds that day's raw batch and its 15-min batch as the box would, and prints a table:
slots, channels, JSON bytes and gzip'd bytes (what is sent, and what the research server receives).
Target (issue 17): the server stores at most 1 MB per household per day.

Usage: python bench/telemetry_raw.py [--day 2026-01-15]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day", default="2026-01-15", help="the simulated day (YYYY-MM-DD)")
    args = parser.parse_args()
    day = date.fromisoformat(args.day)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.db"
        began = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "hems",
                "demo",
                "--headless",
                "--quiet",
                "--speed",
                "0",
                "--stop-after",
                "25h",
                "--start",
                (day - timedelta(hours=0)).isoformat(),
                "--db",
                str(db),
            ],
            check=True,
            stderr=subprocess.DEVNULL,
        )
        demo_s = time.perf_counter() - began
        from hems.config import parse_config
        from hems.storage import Storage
        from hems.telemetry import deidentify_site
        from hems.telemetry.batch import build_batch, encode

        rows = []
        for label, section in (("raw (10 s)", {"resolution": "raw"}), ("15 min", {})):
            cfg = parse_config({"site": {"postcode": "1081"}, "telemetry": section})
            with Storage.open(db, readonly=True) as st:
                t0 = time.perf_counter()
                batch = build_batch(
                    st,
                    day,
                    household_id="h-" + "b" * 26,
                    site=deidentify_site(cfg.site),
                    config=cfg.telemetry,
                )
                body = encode(batch)
                build_s = time.perf_counter() - t0
            plain = len(json.dumps(batch, separators=(",", ":")))
            rows.append(
                (label, batch["interval"]["slots"], len(batch["readings"]), plain, len(body), build_s)
            )
    print(f"simulated day {day} ({demo_s:.0f} s to simulate)")
    print(f"{'batch':<12} {'slots':>6} {'channels':>8} {'JSON bytes':>11} {'gzip bytes':>11} {'build s':>8}")
    for label, slots, channels, plain, gz, build_s in rows:
        print(f"{label:<12} {slots:>6} {channels:>8} {plain:>11,} {gz:>11,} {build_s:>8.2f}")
    print("target: <= 1 MB per household per day stored on the research server (raw)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
