"""Prices cached in SQLite; a real local HTTP server stands in for ENTSO-E; outages fall back."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from hems.storage.price_cache import SqlitePriceCache
from tariffs.cache import pattern_onto_day, spot_for_day
from tariffs.series import PriceSeries, day_slots, local_day_bounds
from tariffs.spot import PriceDataError, PriceUnavailable, get_entsoe_prices

DATA = Path(__file__).parents[1] / "data" / "tariffs"
TZ = "Europe/Oslo"


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, bytes, float]]] = {}
    seen: ClassVar[list[dict[str, list[str]]]] = []

    def do_GET(self) -> None:
        query = parse_qs(urlparse(self.path).query)
        type(self).seen.append(query)
        status, body, delay = type(self).routes.get(query.get("securityToken", [""])[0], (404, b"", 0))
        time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    _Handler.seen = []
    _Handler.routes = {
        "good": (200, (DATA / "entsoe_no1_2026-01-15_pt60m.xml").read_bytes(), 0),
        "none": (200, (DATA / "entsoe_acknowledgement.xml").read_bytes(), 0),
        "denied": (401, (DATA / "entsoe_acknowledgement.xml").read_bytes().replace(b"999", b"401"), 0),
        "broken": (503, b"Service Unavailable", 0),
        "slow": (200, b"", 1.0),
        "garbage": (200, b"<Publication_MarketDocument><oops", 0),
    }
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/api"
    httpd.shutdown()
    httpd.server_close()


def _day(d: date) -> tuple[datetime, datetime]:
    return local_day_bounds(d, TZ)


def test_get_sends_token_zone_and_utc_period(server: str) -> None:
    start, end = _day(date(2026, 1, 15))
    s = get_entsoe_prices("good", "NO1", start, end, base_url=server, timeout_s=5)
    assert (len(s), s.start) == (24, start)
    q = _Handler.seen[-1]
    assert q["documentType"] == ["A44"]
    assert q["in_Domain"] == q["out_Domain"] == ["10YNO-1--------2"]
    assert (q["periodStart"], q["periodEnd"]) == (["202601142300"], ["202601152300"])


@pytest.mark.parametrize(
    ("token", "error", "message"),
    [
        ("none", PriceUnavailable, "No matching data"),
        ("denied", PriceUnavailable, "No matching data"),
        ("broken", PriceUnavailable, "HTTP 503"),
        ("slow", PriceUnavailable, "unreachable"),
        ("garbage", PriceDataError, "not well-formed"),
    ],
)
def test_get_failures_are_clear(server: str, token: str, error: type, message: str) -> None:
    start, end = _day(date(2026, 1, 15))
    with pytest.raises(error, match=message):
        get_entsoe_prices(token, "NO1", start, end, base_url=server, timeout_s=0.3)


def test_get_unreachable_host() -> None:
    start, end = _day(date(2026, 1, 15))
    with pytest.raises(PriceUnavailable, match="unreachable"):
        get_entsoe_prices("t", "NO1", start, end, base_url="http://127.0.0.1:9/api", timeout_s=1)


def _cache(tmp_path: Path) -> SqlitePriceCache:
    return SqlitePriceCache(sqlite3.connect(tmp_path / "hems.db"))


def test_sqlite_cache_round_trip_survives_reopen(tmp_path: Path) -> None:
    start, end = _day(date(2026, 3, 29))
    series = PriceSeries(start, 15, [i / 100 for i in range(92)])
    _cache(tmp_path).put("NO1", series)
    again = _cache(tmp_path)  # a new connection to the same file: the table is already there
    assert again.get("NO1", start, end) == series
    assert again.get("NO2", start, end) is None
    assert again.get("NO1", start, end + timedelta(minutes=15)) is None  # incomplete
    assert again.latest_before("NO1", end) == end - timedelta(minutes=15)
    assert again.latest_before("NO1", start) is None


def test_fetched_prices_are_cached_then_served_from_the_cache(tmp_path: Path, server: str) -> None:
    cache = _cache(tmp_path)
    day = date(2026, 1, 15)

    def fetch(a: datetime, b: datetime) -> PriceSeries:
        return get_entsoe_prices("good", "NO1", a, b, base_url=server, timeout_s=5)

    first = spot_for_day(day, TZ, "NO1", cache=cache, fetch=fetch)
    assert first.source == "entsoe" and first.prices is not None and len(first.prices) == 24
    calls = len(_Handler.seen)
    second = spot_for_day(day, TZ, "NO1", cache=cache, fetch=fetch)
    assert (second.source, second.prices, len(_Handler.seen)) == ("cache", first.prices, calls)


def test_outage_falls_back_to_the_last_known_pattern_and_says_so(tmp_path: Path, server: str) -> None:
    cache = _cache(tmp_path)
    known = date(2026, 1, 15)
    start, _ = _day(known)
    cache.put("NO1", PriceSeries(start, 60, [h / 10 for h in range(24)]))

    def fetch(a: datetime, b: datetime) -> PriceSeries:
        return get_entsoe_prices("broken", "NO1", a, b, base_url=server, timeout_s=5)

    got = spot_for_day(date(2026, 1, 17), TZ, "NO1", cache=cache, fetch=fetch)
    assert got.source == "fallback: last known pattern (2026-01-15)"
    assert got.problems == ("ENTSO-E: HTTP 503 Service Unavailable",)
    assert got.prices is not None
    assert got.prices.start == _day(date(2026, 1, 17))[0]
    assert got.prices.price_per_kwh == tuple(h / 10 for h in range(24))


def test_nothing_known_says_so() -> None:
    got = spot_for_day(date(2026, 1, 17), TZ, "NO1")
    assert got.prices is None
    assert got.source.startswith("none: no price source or cached prices")


def test_pattern_onto_dst_days_by_wall_clock() -> None:
    known = date(2026, 3, 28)  # 24 h
    s, _ = _day(known)
    series = PriceSeries(s, 60, [float(h) for h in range(24)])
    spring = pattern_onto_day(series, known, date(2026, 3, 29), TZ)  # 23 h: no 02:00
    assert spring.slot_starts() == day_slots(date(2026, 3, 29), TZ, 60)
    assert spring.price_per_kwh == (0.0, 1.0, *[float(h) for h in range(3, 24)])
    autumn = pattern_onto_day(series, known, date(2026, 10, 25), TZ)  # 25 h: 02:00 twice
    assert autumn.price_per_kwh == (0.0, 1.0, 2.0, 2.0, *[float(h) for h in range(3, 24)])
    back = pattern_onto_day(spring, date(2026, 3, 29), date(2026, 3, 30), TZ)  # 02:00 borrows 01:00
    assert back.price_per_kwh[:4] == (0.0, 1.0, 1.0, 3.0)
    assert back.start.tzinfo == UTC


def test_a_two_day_horizon_mixes_cached_and_fallback_days(tmp_path: Path) -> None:
    from tariffs.cache import spot_for_period

    cache = _cache(tmp_path)
    s15, _ = _day(date(2026, 1, 15))
    cache.put("NO1", PriceSeries(s15, 60, [h / 10 for h in range(24)]))
    start = datetime(2026, 1, 15, 12, tzinfo=UTC)  # mid-day: the horizon starts inside the 15th
    end = start + timedelta(hours=36)
    prices, sources = spot_for_period(start, end, TZ, "NO1", cache=cache)
    assert sources == ["2026-01-15: cache", "2026-01-16: fallback: last known pattern (2026-01-15)",
                       "2026-01-17: fallback: last known pattern (2026-01-15)"]  # fmt: skip
    assert prices is not None and prices.start == s15 and len(prices) == 3 * 96
    assert prices.at(datetime(2026, 1, 16, 12, tzinfo=UTC)) == pytest.approx(1.3)  # 13:00 local
    assert spot_for_period(start, end, TZ, "NO2", cache=cache)[0] is None
