"""The price job against a local HTTP server answering like ENTSO-E: retried until published."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from hems.clock import ManualClock
from hems.config import parse_config
from hems.control.prices import prices_job
from hems.jobs import JobRunner, standard_jobs
from hems.storage import Storage
from hems.storage.price_cache import SqlitePriceCache

DATA = Path(__file__).parents[1] / "data" / "tariffs"


class Entsoe(BaseHTTPRequestHandler):
    answers: ClassVar[list[bytes]] = []
    queries: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Entsoe.queries.append(self.path)
        body = Entsoe.answers.pop(0) if len(Entsoe.answers) > 1 else Entsoe.answers[0]
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def entsoe() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Entsoe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()
    thread.join(5)


async def test_prices_fetched_after_publication_and_cached(entsoe: str, tmp_path: Path) -> None:
    Entsoe.answers = [(DATA / "entsoe_acknowledgement.xml").read_bytes()] * 2 + [
        (DATA / "entsoe_no1_2026-01-15_pt60m.xml").read_bytes()
    ]
    Entsoe.queries = []
    config = parse_config({"tariff": {"bidding_zone": "NO1", "entsoe_token": "t0ken", "entsoe_url": entsoe}})
    st = Storage.open(tmp_path / "hems.db", timezone="Europe/Oslo")
    clock = ManualClock(datetime(2026, 1, 14, 11, 50, tzinfo=UTC))
    replans: list[str] = []
    runner = JobRunner(clock, st.connection)
    for job in standard_jobs("Europe/Oslo", fetch_prices=prices_job(config, st), replan=replans.append):
        runner.add(job)
    for _ in range(60):  # an hour of one-minute cycles
        clock.advance(60)
        await runner.on_cycle()
        for _ in range(50):  # let the fetch in its worker thread finish
            task = runner.state["prices"].task
            if task is None or task.done():
                break
            await asyncio.sleep(0.01)
    assert len(Entsoe.queries) == 3  # 13:00 (not yet), 13:10 (not yet), 13:20 (published)
    assert "periodStart=202601142300" in Entsoe.queries[0] and "securityToken=t0ken" in Entsoe.queries[0]
    got = SqlitePriceCache(st.connection).get(
        "NO1", datetime(2026, 1, 14, 23, tzinfo=UTC), datetime(2026, 1, 15, 23, tzinfo=UTC)
    )
    assert got is not None and len(got.price_per_kwh) == 24
    assert replans == ["new day-ahead prices"]
    st.close()


async def test_prices_converted_at_norges_banks_rate_when_configured(entsoe: str, tmp_path: Path) -> None:
    # [tariff].exchange_rate = "norges_bank": the day's reference rate, not the fixed fallback (11.5).
    # The sample answer has no fixing on 15 Jan 2026: the 14th's 11.689 holds.
    Entsoe.answers = [(DATA / "entsoe_no1_2026-01-15_pt60m.xml").read_bytes()]
    Entsoe.queries = []
    sample = (DATA / "norges_bank_eur_nok.json").read_bytes()
    asked: list[str] = []

    class Bank(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(sample)))
            self.end_headers()
            self.wfile.write(sample)

        def log_message(self, *args: object) -> None:
            pass

    bank = ThreadingHTTPServer(("127.0.0.1", 0), Bank)
    threading.Thread(target=bank.serve_forever, daemon=True).start()
    try:
        config = parse_config(
            {
                "tariff": {
                    "bidding_zone": "NO1",
                    "entsoe_token": "t0ken",
                    "entsoe_url": entsoe,
                    "exchange_rate": "norges_bank",
                    "norges_bank_url": f"http://127.0.0.1:{bank.server_address[1]}/api/data/EXR",
                }
            }
        )
        st = Storage.open(tmp_path / "hems.db", timezone="Europe/Oslo")
        job = prices_job(config, st)
        assert await job(datetime(2026, 1, 14, 12, tzinfo=UTC)) is True
    finally:
        bank.shutdown()
        bank.server_close()
    assert len(asked) == 1 and "endPeriod=2026-01-15" in asked[0]
    got = SqlitePriceCache(st.connection).get(
        "NO1", datetime(2026, 1, 14, 23, tzinfo=UTC), datetime(2026, 1, 15, 23, tzinfo=UTC)
    )
    assert got is not None
    assert got.price_per_kwh[0] == pytest.approx(52.17 * 11.689 / 1000)  # first hour: 52.17 EUR/MWh
    st.close()
