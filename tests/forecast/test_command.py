"""`hems forecast` end to end: config, weather file/API/fallback, a real database, the worker."""

from __future__ import annotations

import argparse
import itertools
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from hems.cli import main
from hems.commands.forecast import build_request
from hems.config import load_config
from hems.forecast import make_request
from hems.storage import SampleWriter, Storage, WriterSettings
from optimiser.forecast.config import PvConfig
from optimiser.forecast.pv import Site, ac_power, clear_sky, model_chain
from optimiser.forecast.service import run_forecast

DATA = Path(__file__).parents[1] / "data" / "forecast"
FIXTURE = DATA / "locationforecast-oslo-2026-06-21.json"
TZ = "Europe/Oslo"
CONFIG = """
[site]
latitude = 59.91
longitude = 10.75
timezone = "Europe/Oslo"

[pv]
inverter_kw = 5.0
altitude_m = 20
{weather}

[[pv.array]]
kwp = 6.0
tilt_deg = 30
azimuth_deg = 180
"""


def write_config(tmp_path: Path, weather: str = "") -> Path:
    path = tmp_path / "hems.toml"
    path.write_text(CONFIG.format(weather=weather), encoding="utf-8")
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[dict[str, Any], str]:
    assert main(["forecast", "--json", *argv]) == 0
    out = capsys.readouterr()
    return json.loads(out.out), out.err


def test_dst_day_and_clear_sky_fallback_is_announced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day, n = "2026-10-25", 100  # fall-back day; 92-slot days are covered in test_slots/test_load
    answer, err = run_json(capsys, "--date", day, "--config", str(write_config(tmp_path)))
    assert answer["n_slots"] == n == len(answer["slots"])
    assert answer["sources"]["weather"] == "clear-sky fallback"
    assert answer["sources"]["clear_sky_derate"] == 0.65
    assert answer["sources"]["load"]["kind"] == "fallback-profile"
    assert "MET Norway needs a contact" in err and "MET Norway needs a contact" in answer["warnings"][0]
    starts = [datetime.fromisoformat(s["start"]) for s in answer["slots"]]
    assert all(b - a == timedelta(minutes=15) for a, b in itertools.pairwise(starts))
    assert starts[0].astimezone(ZoneInfo(TZ)).hour == 0
    assert answer["pv_kwh"] > 5.0 and max(s["pv_w"] for s in answer["slots"]) <= 5000.0


def test_missing_weather_file_falls_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    wx = tmp_path / "wx.json"
    answer, err = run_json(capsys, "--date", "2026-06-21", "--config", str(cfg), "--weather", str(wx))
    assert "weather file unusable" in err and "wx.json: cannot read" in err
    assert answer["sources"]["weather"] == "clear-sky fallback"
    assert answer["pv_kwh"] > 10.0


@pytest.mark.parametrize("content", ['{"properties": {"timeseries": [{"time": 3}]}}', "not json", ""])
def test_malformed_weather_file_falls_back_in_the_request(tmp_path: Path, content: str) -> None:
    wx = tmp_path / "wx.json"
    wx.write_text(content, encoding="utf-8")
    args = argparse.Namespace(date="2026-06-21", config=str(write_config(tmp_path)), weather=str(wx), db=None)
    request = build_request(args, datetime(2026, 6, 20, tzinfo=UTC))
    assert request["weather"] is None
    assert request["warnings"][0].startswith(f"weather file unusable ({wx}: ")
    answer = run_forecast(request)  # the same function the worker runs
    assert answer["sources"]["weather"] == "clear-sky fallback" and answer["pv_kwh"] > 10.0


def test_weather_file_and_met_api_give_the_same_series(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], met: tuple[Any, str]
) -> None:
    state, url = met
    state.expires = datetime.now(UTC) + timedelta(hours=1)
    args = argparse.Namespace(
        date="2026-06-21", config=str(write_config(tmp_path)), weather=str(FIXTURE), db=None
    )
    from_file = run_forecast(build_request(args, datetime(2026, 6, 20, tzinfo=UTC)))
    assert from_file["sources"]["weather"] == f"file {FIXTURE}" and from_file["warnings"] == []
    bergen = tmp_path / "bergen.toml"
    bergen.write_text(CONFIG.format(weather="").replace("59.91", "60.39").replace("10.75", "5.32"))
    args.config = str(bergen)
    elsewhere = build_request(args, datetime(2026, 6, 20, tzinfo=UTC))
    assert "is for 59.9100 N 10.7500 E, the site is at 60.3900 N 5.3200 E" in elsewhere["warnings"][0]
    weather = f'[pv.weather]\ncontact = "ops@example.org"\nurl = "{url}"\ncache_dir = "{tmp_path / "cache"}"'
    from_api, _ = run_json(capsys, "--date", "2026-06-21", "--config", str(write_config(tmp_path, weather)))
    assert from_api["sources"]["weather"].startswith("MET Norway API (fetched)")
    assert state.requests[0]["User-Agent"].endswith(" ops@example.org")
    assert [s["pv_w"] for s in from_api["slots"]] == [s["pv_w"] for s in from_file["slots"]]
    assert from_api["pv_kwh"] < 0.8 * 30  # the afternoon is overcast in the file


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forecast", "--date", "21.06.2026"]) == 2
    assert "--date: expected YYYY-MM-DD" in capsys.readouterr().err
    assert main(["forecast", "--date", "2026-06-21", "--db", str(tmp_path / "none.db")]) == 2
    assert "no such database file" in capsys.readouterr().err


def house_w(t: datetime) -> float:
    h = t.astimezone(ZoneInfo(TZ)).hour
    return 500.0 + (2500.0 if 17 <= h < 20 else 0.0)


@pytest.fixture
def measured_db(tmp_path: Path) -> Path:
    """14 days of 5-min samples: PV = 70 % of the clear-sky model, a known house load."""
    pv = PvConfig.model_validate({"array": [{"kwp": 6.0}], "inverter_kw": 5.0, "altitude_m": 20})
    site = Site(59.91, 10.75, TZ, 20.0)
    start = datetime(2026, 6, 1, tzinfo=ZoneInfo(TZ)).astimezone(UTC)
    times = pd.date_range(start, periods=14 * 288, freq="5min")
    pv_w = 0.7 * ac_power(model_chain(pv, site), clear_sky(site, times + pd.Timedelta(minutes=2.5)))
    path = tmp_path / "hems.db"
    with Storage.open(path, timezone=TZ) as st:
        writer = SampleWriter(st, WriterSettings(batch_cycles=5000, batch_seconds=1e9))
        for t, p in zip(times.to_pydatetime(), pv_w, strict=True):
            net = house_w(t) - p
            writer.add(t, {"pv.p_w": p, "grid.p_import_w": max(net, 0.0), "grid.p_export_w": max(-net, 0.0)})
        writer.close()
    return path


def test_history_from_the_database_drives_bias_accuracy_and_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], measured_db: Path
) -> None:
    cfg = write_config(tmp_path)
    answer, _ = run_json(capsys, "--date", "2026-06-15", "--config", str(cfg), "--db", str(measured_db))
    bias = answer["sources"]["bias"]["clear_sky_slots"]
    assert bias["days"] == 14 and bias["applied_to_slots"] == 96
    assert answer["sources"]["bias"]["weather_slots"].startswith("none: 0 day(s)")
    for hour in range(6, 20):  # local hours with real sun
        assert bias["factors"][str(hour)] == pytest.approx(0.7, abs=0.03)  # keys are local hours
    assert answer["sources"]["load"]["kind"] == "history"
    for s in answer["slots"]:
        assert s["load_w"] == pytest.approx(house_w(datetime.fromisoformat(s["start"])), abs=1.0)
    acc = answer["accuracy"]
    assert acc["forecast"] == "clear-sky hindcast" and acc["summary"]["days"] == 14
    first, last = acc["days"][0], acc["days"][-1]
    assert first["date"] == "2026-06-01" and first["skill"] is None
    assert abs(first["energy_error_kwh"]) > abs(last["energy_error_kwh"])  # learned after 3 days
    assert abs(last["energy_error_kwh"]) < 0.03 * last["actual_kwh"]
    assert date.fromisoformat(last["date"]) == date(2026, 6, 14)
    # the daemon's entry point reads the same history from its open storage
    cfg = load_config(cfg)
    with Storage.open(measured_db, readonly=True) as st:
        request = make_request(cfg, date(2026, 6, 15), datetime(2026, 6, 14, tzinfo=UTC), storage=st)
    assert len(request["pv_history"]) == len(request["load_history"]) == 14 * 96
    assert request["past_pv_forecasts"] is None and request["temperature_history"] is None
    with Storage.open(measured_db) as st:  # the daemon archives each answer it got
        st.put_doc("forecast.pv.2026-06-14", {"slots": [s | {"temp_air_c": 12.5} for s in answer["slots"]]})
        request = make_request(cfg, date(2026, 6, 15), datetime(2026, 6, 14, tzinfo=UTC), storage=st)
    assert len(request["past_pv_forecasts"]) == 96
    assert request["past_pv_forecasts"][0] == [answer["slots"][0]["start"], 0.0, 0.0, False]
    # no temperature channel: the archived forecasts' temperatures stand in for the load model
    assert request["temperature_history"][0] == [answer["slots"][0]["start"], 12.5]


def test_the_configuration_example_in_the_docs_is_valid(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "forecast.md").read_text(encoding="utf-8")
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.toml"
    path.write_text(example, encoding="utf-8")
    cfg = load_config(path)
    assert cfg.pv is not None and cfg.pv.array[0].name == "south roof"
    assert cfg.pv.weather.contact == "ola@example.no" and cfg.pv.clear_sky_derate == 0.65
