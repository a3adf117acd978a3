"""MET Norway compact parsing, and fetching against a real HTTP server on localhost."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from optimiser.forecast.metno import (
    WeatherError,
    get_locationforecast,
    parse_locationforecast,
    read_locationforecast,
    truncate_coordinate,
    user_agent,
)

FIXTURE = Path(__file__).parents[1] / "data" / "forecast" / "locationforecast-oslo-2026-06-21.json"
NOW = datetime(2026, 6, 20, 20, 40, tzinfo=UTC)  # the server's first Expires is NOW + 30 min (conftest)


def test_parse_recorded_compact_file() -> None:
    fc = read_locationforecast(FIXTURE)
    assert fc.updated_at == datetime(2026, 6, 20, 20, 31, 7, tzinfo=UTC)
    assert len(fc.points) == 30  # 27 hourly entries and 3 of the 6-hourly tail
    first, last = fc.points[0], fc.points[-1]
    assert first.time == datetime(2026, 6, 20, 21, tzinfo=UTC)
    assert (first.cloud_area_fraction_pct, first.air_temperature_c, first.wind_speed_m_s) == (0.0, 13.0, 2.0)
    assert last.time == datetime(2026, 6, 24, 6, tzinfo=UTC)
    assert (last.cloud_area_fraction_pct, last.air_temperature_c) == (12.5, 14.1)
    assert (fc.latitude, fc.longitude) == (59.91, 10.75)  # GeoJSON order is lon, lat
    assert fc.distance_deg(60.39, 5.32) == pytest.approx(5.43)
    plain = fc.to_plain()
    assert plain[0]["time"] == "2026-06-20T21:00:00Z" and json.dumps(plain)


def test_gzip_file_is_read(tmp_path: Path) -> None:
    gz = tmp_path / "f.json.gz"
    gz.write_bytes(gzip.compress(FIXTURE.read_bytes()))
    assert len(read_locationforecast(gz).points) == 30


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "no properties.timeseries"),
        ({"properties": {"timeseries": {}}}, "should be a list"),
        ({"properties": {"timeseries": [{"time": "2026-06-21T10:00:00Z"}]}}, "timeseries[0]"),
        ({"properties": {"timeseries": [{"time": "yesterday", "data": {}}]}}, "not an ISO-8601"),
        (
            {
                "properties": {
                    "timeseries": [{"time": "2026-06-21T10:00:00Z", "data": {"instant": {"details": {}}}}]
                }
            },
            "no timeseries entry with cloud_area_fraction",
        ),
        (
            {
                "properties": {
                    "timeseries": [
                        {
                            "time": "2026-06-21T10:00:00Z",
                            "data": {"instant": {"details": {"cloud_area_fraction": "x"}}},
                        }
                    ]
                }
            },
            "should be a number",
        ),
        (
            {
                "properties": {
                    "timeseries": [
                        {
                            "time": "2026-06-21T10:00:00Z",
                            "data": {"instant": {"details": {"cloud_area_fraction": 140}}},
                        }
                    ]
                }
            },
            "outside 0..100",
        ),
    ],
)
def test_malformed_documents_say_what_is_wrong(doc: Any, message: str) -> None:
    with pytest.raises(WeatherError, match=re.escape(message)):
        parse_locationforecast(doc)


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(WeatherError, match=re.escape("missing.json: cannot read")):
        read_locationforecast(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "Feature", "properties": {"timeseries": [', encoding="utf-8")
    with pytest.raises(WeatherError, match=re.escape("bad.json: not valid JSON")):
        read_locationforecast(bad)


def test_coordinates_are_truncated_to_four_decimals() -> None:
    assert truncate_coordinate(59.91234567) == "59.9123"
    assert truncate_coordinate(-10.12349) == "-10.1234"
    assert truncate_coordinate(59.91) == "59.91"
    assert truncate_coordinate(10.0) == "10"
    assert truncate_coordinate(0.00001) == "0"


def _get(url: str, cache: Path, now: datetime):
    return get_locationforecast(
        59.912345,
        10.752278,
        user_agent=user_agent("0.1.0", "ops@example.org"),
        now=now,
        cache_dir=cache,
        url=url,
    )


def test_fetch_identifies_itself_caches_and_revalidates(met: tuple[Any, str], tmp_path: Path) -> None:
    state, url = met
    first = _get(url, tmp_path, NOW)
    assert first.how == "fetched" and len(first.forecast.points) == 30
    req = state.requests[0]
    assert req["User-Agent"] == "hems/0.1.0 ops@example.org"
    assert "gzip" in req["Accept-Encoding"]
    assert req["path"].endswith("?lat=59.9123&lon=10.7522")
    assert "If-Modified-Since" not in req

    again = _get(url, tmp_path, NOW + timedelta(minutes=10))  # before Expires: no request at all
    assert again.how == "cache-fresh" and len(state.requests) == 1

    state.expires = NOW + timedelta(hours=2)
    later = _get(url, tmp_path, NOW + timedelta(minutes=31))  # after Expires: conditional request
    assert later.how == "not-modified" and len(later.forecast.points) == 30
    assert state.requests[1]["If-Modified-Since"] == state.last_modified
    assert _get(url, tmp_path, NOW + timedelta(minutes=90)).how == "cache-fresh"  # the 304's Expires

    state.last_modified = "Sat, 20 Jun 2026 23:01:00 GMT"  # a newer model run
    state.gzip = False
    newer = _get(url, tmp_path, NOW + timedelta(hours=3))
    assert newer.how == "fetched" and len(state.requests) == 3


def test_server_errors_fall_back_to_the_cache_or_raise(met: tuple[Any, str], tmp_path: Path) -> None:
    state, url = met
    state.status = 503
    with pytest.raises(WeatherError, match="HTTP 503"):
        _get(url, tmp_path, NOW)
    state.status = 200
    _get(url, tmp_path, NOW)
    state.status = 429
    stale = _get(url, tmp_path, NOW + timedelta(hours=1))
    assert stale.how == "cache-stale" and "HTTP 429" in (stale.warning or "")
    assert len(stale.forecast.points) == 30


def test_unreachable_server_raises_a_weather_error(tmp_path: Path) -> None:
    with pytest.raises(WeatherError, match=re.escape("127.0.0.1:9/")):
        _get("http://127.0.0.1:9/compact", tmp_path, NOW)


def test_deprecated_product_is_used_with_a_warning(met: tuple[Any, str], tmp_path: Path) -> None:
    state, url = met
    state.status = 203
    got = _get(url, tmp_path, NOW)
    assert got.how == "fetched" and "deprecated" in (got.warning or "")
    assert len(got.forecast.points) == 30


def test_unwritable_cache_still_returns_the_forecast(met: tuple[Any, str], tmp_path: Path) -> None:
    _, url = met
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    got = _get(url, blocker / "cache", NOW)
    assert got.how == "fetched" and "cannot cache" in (got.warning or "")
