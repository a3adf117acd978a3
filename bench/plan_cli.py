"""`hems plan FILE --json` from process start to JSON out (run by hand; prints a table).

    python bench/plan_cli.py [--repeat 9] [--cores 0]

Each case runs `python -m hems plan FILE --json` as a new process (what the console script does)
and measures wall time until the process has written its JSON and exited. Cases: a one-appliance
day (the winter example's day with only its dishwasher: prices, base load, capacity tariff, 3x25 A
fuse), and every example scenario. `--cores 0` pins the processes to core 0 (`taskset -c 0`), the
closest stand-in for a Raspberry Pi 4 core we have. Other jobs on the machine show in the figures:
quote the load average printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "scenarios"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def dump_toml(data: dict[str, Any]) -> str:
    """The scenario subset of TOML: tables of scalars and lists, arrays of such tables."""
    lines: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"[{key}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in value.items()]
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                lines.append(f"[[{key}]]")
                lines += [f"{k} = {_toml_value(v)}" for k, v in item.items()]
        else:
            lines.insert(0, f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def one_appliance_day(folder: Path) -> Path:
    data = tomllib.loads((EXAMPLES / "norway_winter.toml").read_text(encoding="utf-8"))
    data["appliance"] = [a for a in data["appliance"] if a["id"] == "dishwasher"]
    data.pop("battery", None)
    path = folder / "one_appliance_day.toml"
    path.write_text(dump_toml(data), encoding="utf-8")
    return path


def run_once(path: Path, cores: str | None) -> float:
    command = [sys.executable, "-m", "hems", "plan", str(path), "--json"]
    if cores is not None:
        command = ["taskset", "-c", cores, *command]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{path.name}: hems plan failed: {done.stderr.strip()}")
    json.loads(done.stdout)  # the whole JSON came out
    return wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--cores", default=None, help="taskset core list, e.g. 0")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        cases = [one_appliance_day(Path(tmp)), *sorted(EXAMPLES.glob("*.toml"))]
        run_once(cases[0], args.cores)  # a first run warms the file cache, as on a box in use
        pinned = f", taskset -c {args.cores}" if args.cores is not None else ""
        print(f"# python bench/plan_cli.py --repeat {args.repeat}{pinned}   load {os.getloadavg()[0]:.2f}")
        print(f"{'scenario':<24} {'median s':>8} {'p90 s':>6} {'best s':>6} {'worst s':>7}")
        for path in cases:
            walls = sorted(run_once(path, args.cores) for _ in range(args.repeat))
            p90 = walls[min(len(walls) - 1, int(0.9 * len(walls)))]
            median = statistics.median(walls)
            print(f"{path.stem:<24} {median:>8.3f} {p90:>6.3f} {walls[0]:>6.3f} {walls[-1]:>7.3f}")
        print(f"# load after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
