"""The worker's function: weather-slot bias from archived raw forecasts; no PV; plain answers."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from optimiser.forecast.metno import read_locationforecast
from optimiser.forecast.service import run_forecast
from optimiser.forecast.slots import day_slots, iso_z, local_hour

FIXTURE = Path(__file__).parents[1] / "data" / "forecast" / "locationforecast-oslo-2026-06-21.json"
TZ = "Europe/Oslo"
SITE = {"latitude": 59.91, "longitude": 10.75, "timezone": TZ, "altitude_m": 20.0}


def base_request() -> dict[str, Any]:
    return {
        "date": "2026-06-21",
        "site": SITE,
        "pv": {"array": [{"kwp": 6.0}], "inverter_kw": 5.0},
        "weather": {"source": "file", "points": read_locationforecast(FIXTURE).to_plain()},
    }


def test_archived_weather_forecasts_correct_the_weather_slots() -> None:
    measured, archived = [], []
    for k in range(1, 6):  # five past days; the weather model over-forecast by 25 %
        for t in day_slots(date(2026, 6, 21) - timedelta(days=k), TZ):
            h = local_hour(t, TZ) + t.minute / 60
            truth = 4000.0 * max(0.0, math.sin(math.pi * (h - 4.0) / 16.0))
            measured.append([iso_z(t), truth])
            archived.append([iso_z(t), truth * 1.25, truth * 1.25, True])
    plain = run_forecast(base_request())
    learned = run_forecast(base_request() | {"pv_history": measured, "past_pv_forecasts": archived})
    bias = learned["sources"]["bias"]["weather_slots"]
    assert bias["days"] == 5 and bias["applied_to_slots"] == 96
    assert all(f == pytest.approx(0.8, abs=1e-9) for f in bias["factors"].values())
    for a, b in zip(plain["slots"], learned["slots"], strict=True):
        assert b["pv_raw_w"] == a["pv_raw_w"] == a["pv_w"] and b["pv_from_weather"]
        assert b["pv_w"] == pytest.approx(0.8 * a["pv_raw_w"], abs=0.1)
    acc = learned["accuracy"]
    assert acc["forecast"] == "archived forecasts" and acc["summary"]["days"] == 5
    assert acc["days"][0]["energy_error_kwh"] == pytest.approx(0.25 * acc["days"][0]["actual_kwh"])


def test_no_pv_configured_still_forecasts_the_load() -> None:
    answer = run_forecast({"date": "2026-03-29", "site": SITE, "pv": None, "weather": None})
    assert answer["n_slots"] == 92 and answer["pv_kwh"] == 0.0
    assert answer["sources"]["pv"].startswith("none") and answer["sources"]["weather"] == "none"
    assert answer["load_kwh"] > 20.0


def test_archived_clear_sky_slots_do_not_train_the_weather_correction() -> None:
    measured, archived = [], []
    for k in range(1, 6):
        for t in day_slots(date(2026, 6, 21) - timedelta(days=k), TZ):
            measured.append([iso_z(t), 1000.0])
            archived.append([iso_z(t), 2000.0, 2000.0, False])  # issued without weather
    answer = run_forecast(base_request() | {"pv_history": measured, "past_pv_forecasts": archived})
    assert answer["sources"]["bias"]["weather_slots"].startswith("none: 0 day(s)")
    assert answer["accuracy"]["days"][-1]["energy_error_kwh"] > 0  # still evaluated as issued
