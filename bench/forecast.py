"""Time and peak memory of one day's forecast in the worker process (run by hand).

    python bench/forecast.py [--runs 3]

Each run calls `forecast_in_subprocess` with the recorded MET file, 28 days of measured PV and 6
weeks of house load (synthetic), i.e. what the daemon does once per forecast. Reports the wall time
of the call (spawn + pvlib import + computation), the worker's peak RSS (ru_maxrss of the reaped
children) and how much the calling process grew.
"""

from __future__ import annotations

import argparse
import math
import resource
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimiser.forecast.metno import read_locationforecast  # noqa: E402
from optimiser.forecast.slots import day_slots, iso_z, local_hour  # noqa: E402
from optimiser.forecast.worker import forecast_in_subprocess  # noqa: E402

TZ = "Europe/Oslo"
FIXTURE = ROOT / "tests" / "data" / "forecast" / "locationforecast-oslo-2026-06-21.json"


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def request() -> dict:
    target = date(2026, 6, 21)
    pv, load = [], []
    for k in range(1, 43):
        for t in day_slots(target - timedelta(days=k), TZ):
            h = local_hour(t, TZ) + t.minute / 60
            p = 3500.0 * max(0.0, math.sin(math.pi * (h - 4.0) / 16.0))
            if k <= 28:
                pv.append([iso_z(t), p])
            load.append([iso_z(t), 600.0 + (2000.0 if 17 <= h < 20 else 0.0)])
    return {
        "date": target.isoformat(),
        "site": {"latitude": 59.91, "longitude": 10.75, "timezone": TZ, "altitude_m": 20.0},
        "pv": {
            "array": [{"kwp": 6.0, "azimuth_deg": 160}, {"kwp": 3.0, "azimuth_deg": 250}],
            "inverter_kw": 8.0,
        },
        "weather": {"source": "file", "points": read_locationforecast(FIXTURE).to_plain()},
        "pv_history": pv,
        "load_history": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    req = request()
    rss0 = _rss_kib()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        answer = forecast_in_subprocess(req, timeout_s=300)
        times.append(time.perf_counter() - t0)
    child_peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    grew_mib = (_rss_kib() - rss0) / 1024
    print(f"{'runs':<34}{runs}")
    print(f"{'wall per forecast, best [s]':<34}{min(times):.2f}")
    print(f"{'wall per forecast, median [s]':<34}{statistics.median(times):.2f}")
    print(f"{'worker peak RSS [MiB]':<34}{child_peak_mib:.0f}")
    print(f"{'caller RSS growth [MiB]':<34}{grew_mib:.1f}")
    print(f"{'caller has pvlib / pandas loaded':<34}{'pvlib' in sys.modules} / {'pandas' in sys.modules}")
    print(f"{'slots / PV kWh / accuracy days':<34}{answer['n_slots']} / {answer['pv_kwh']} / "
          f"{answer['accuracy']['summary']['days']}")  # fmt: skip


if __name__ == "__main__":
    main()
