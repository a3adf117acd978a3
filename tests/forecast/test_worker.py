"""The forecast in a spawned worker process: same answer as in-process, plain data, time limit."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from optimiser.forecast.metno import read_locationforecast
from optimiser.forecast.service import run_forecast
from optimiser.forecast.worker import ForecastTimeout, forecast_in_subprocess

FIXTURE = Path(__file__).parents[1] / "data" / "forecast" / "locationforecast-oslo-2026-06-21.json"


def request() -> dict:
    return {
        "date": "2026-06-21",
        "site": {"latitude": 59.91, "longitude": 10.75, "timezone": "Europe/Oslo", "altitude_m": 20.0},
        "pv": {
            "array": [{"kwp": 4.0, "azimuth_deg": 90}, {"kwp": 4.0, "azimuth_deg": 270}],
            "inverter_kw": 6.0,
        },
        "weather": {"source": "file", "points": read_locationforecast(FIXTURE).to_plain()},
    }


PARENT = """
import json, sys
from optimiser.forecast.worker import forecast_in_subprocess
answer = forecast_in_subprocess(json.loads(sys.stdin.read()), timeout_s=120)
loaded = sorted(m for m in ("pvlib", "pandas") if m in sys.modules)
print(json.dumps({"answer": answer, "parent_modules": loaded}))
"""


def test_worker_answers_like_the_in_process_call_and_keeps_pvlib_out_of_the_parent() -> None:
    # the "daemon" is a fresh interpreter, so its sys.modules tells what the call loaded into it
    done = subprocess.run(
        [sys.executable, "-c", PARENT],
        input=json.dumps(request()),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["parent_modules"] == []
    remote = out["answer"]
    assert remote == run_forecast(request())
    assert remote["n_slots"] == 96 and remote["sources"]["weather"] == "file"
    # east + west arrays: production starts early and ends late
    pv = [s["pv_w"] for s in remote["slots"]]
    assert pv[4 * 5] > 0 and pv[4 * 21] > 0


def test_worker_time_limit() -> None:
    with pytest.raises(ForecastTimeout, match=re.escape("within 0.01 s")):
        forecast_in_subprocess(request(), timeout_s=0.01)


def test_worker_reraises_errors() -> None:
    bad = request() | {"date": "2026-02-30"}
    with pytest.raises(ValueError, match="day is out of range"):
        forecast_in_subprocess(bad, timeout_s=120)
