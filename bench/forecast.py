"""Time and peak memory of one day's forecast in the worker process (run by hand), and a check of
the cloud-cover models against a DWD test reference year.

    python bench/forecast.py [--runs 3]
    python bench/forecast.py --try-files DIR/TRY2010_*_Jahr.dat

The TRY files (hourly cloud octas and measured/derived direct + diffuse horizontal irradiance, 15
German climate regions, DWD, GeoNutzV) ship inside the demandlib wheel (MIT), e.g.
``pip download demandlib==0.2.2 --no-deps`` and unzip ``demandlib/vdi/resources_weather/``. They
check the cloud → GHI step alone, with *observed* clouds (a forecast's clouds add their own error).

Each run calls `forecast_in_subprocess` with the recorded MET file, 28 days of measured PV and 6
weeks of house load (synthetic), i.e. what the daemon does once per forecast. Reports the wall time
of the call (spawn + pvlib import + computation), the worker's peak RSS (ru_maxrss of the reaped
children) and how much the calling process grew.
"""

from __future__ import annotations

import argparse
import math
import re
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


def read_try(path: str) -> tuple[float, float, list[tuple[int, int, int, int, float]]]:
    """(lat, lon, rows of (month, day, hour CET 1..24, cloud octas, GHI = B + D [W/m²]))."""
    rows, lat, lon, started = [], 0.0, 0.0, False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("Lage:"):  # "Lage: 53°32'N <- B.   8°35'O <- L. ..."
                deg = [int(x) for x in re.findall(r"\d+", line)]
                lat, lon = deg[0] + deg[1] / 60, deg[2] + deg[3] / 60
            elif line.startswith("***"):
                started = True
            elif started and line.strip():
                p = line.split()
                rows.append((int(p[2]), int(p[3]), int(p[4]), int(p[5]), float(p[13]) + float(p[14])))
    return lat, lon, rows


def validate_try(paths: list[str]) -> None:
    """Daily GHI from observed cloud cover (Larson, Campbell–Norman, clear sky) against the TRY."""
    import numpy as np
    import pandas as pd

    from optimiser.forecast.pv import Site, clear_sky, cloud_to_irradiance

    print(f"{'file':<22}{'model':<17}{'annual ratio':>13}{'daily MBE':>11}{'daily RMSE':>12}{'corr':>7}")
    for path in paths:
        lat, lon, rows = read_try(path)
        # hour HH (CET) holds the hour before HH; centred at HH − 1 h UTC (best fit of ±0.5 h tried)
        times = pd.DatetimeIndex(
            [pd.Timestamp(2010, m, d, tz="UTC") + pd.Timedelta(hours=h - 1.0) for m, d, h, _, _ in rows]
        )
        cloud = np.array([min(n, 8) / 8 * 100 for *_, n, _ in rows])  # 9 = sky obscured → overcast
        measured = pd.Series([g for *_, g in rows]).groupby([m * 100 + d for m, d, *_ in rows]).sum() / 1000
        site = Site(lat, lon, "UTC", None)
        models = {m: cloud_to_irradiance(site, times, cloud, m)["ghi"] for m in ("larson", "campbell_norman")}
        models["clear sky"] = clear_sky(site, times)["ghi"]
        for name, ghi in models.items():
            daily = pd.Series(ghi.to_numpy()).groupby(measured.index.repeat(24)).sum() / 1000
            err = daily - measured
            print(
                f"{Path(path).name:<22}{name:<17}{daily.sum() / measured.sum():>13.2f}{err.mean():>+11.2f}"
                f"{float(np.sqrt((err**2).mean())):>12.2f}{float(np.corrcoef(daily, measured)[0, 1]):>7.3f}"
            )
    print("daily MBE / RMSE in kWh/m² per day; annual ratio = modelled / TRY global irradiation")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--try-files", nargs="+", metavar="FILE", help="DWD TRY .dat files to check")
    args = parser.parse_args()
    if args.try_files:
        validate_try(args.try_files)
        return
    runs = args.runs
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
