"""Norges Bank EUR/NOK reference rates: parsed, forward-filled over non-business days, fetched."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hems.cli import main
from tariffs.exchange import ExchangeRateError, get_norges_bank_rate, parse_norges_bank_json, rate_on

DATA = Path(__file__).parents[1] / "data" / "tariffs"
SAMPLE = (DATA / "norges_bank_eur_nok.json").read_bytes()


def test_parse_and_forward_fill() -> None:
    rates = parse_norges_bank_json(SAMPLE)
    assert rates == {date(2026, 1, 13): 11.7015, date(2026, 1, 14): 11.689, date(2026, 1, 16): 11.724}
    assert rate_on(rates, date(2026, 1, 15)) == 11.689  # no fixing that day: the day before's
    assert rate_on(rates, date(2026, 1, 18)) == 11.724  # Sunday
    with pytest.raises(ExchangeRateError, match="on or before 2026-01-01"):
        rate_on(rates, date(2026, 1, 1))


def test_unit_multiplier_and_malformed_answers() -> None:
    doc = json.loads(SAMPLE)
    doc["data"]["structure"]["attributes"]["series"][2]["values"] = [{"id": "2"}]  # per 100 units
    assert parse_norges_bank_json(json.dumps(doc))[date(2026, 1, 13)] == pytest.approx(0.117015)
    for bad in (b"", b"{}", b'{"data": {"dataSets": []}}', b"<html/>"):
        with pytest.raises(ExchangeRateError, match="not understood"):
            parse_norges_bank_json(bad)


@pytest.fixture
def bank() -> Iterator[tuple[str, list[str]]]:
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            ok = self.path.startswith("/api/data/EXR/B.EUR.NOK.SP?")
            status, body = (200, SAMPLE) if ok else (404, b"Not found")
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/api/data/EXR", paths
    httpd.shutdown()
    httpd.server_close()


def test_get_rate_from_a_local_server(bank: tuple[str, list[str]]) -> None:
    url, paths = bank
    assert get_norges_bank_rate(date(2026, 1, 15), base_url=url, timeout_s=5) == 11.689
    assert "startPeriod=2026-01-05" in paths[-1] and "endPeriod=2026-01-15" in paths[-1]
    with pytest.raises(ExchangeRateError, match="HTTP 404"):
        get_norges_bank_rate(date(2026, 1, 15), "SEK", base_url=url, timeout_s=5)


def test_show_converts_an_eur_file_with_the_days_rate(
    bank: tuple[str, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = bank
    cfg = tmp_path / "hems.toml"
    cfg.write_text(
        f'[tariff]\ngrid_company = "Elvia"\nexchange_rate = "norges_bank"\nnorges_bank_url = "{url}"\n'
    )
    xml = str(DATA / "entsoe_no1_2026-01-15_pt60m.xml")
    assert (
        main(["tariff", "show", "--json", "--date", "2026-01-15", "--config", str(cfg), "--prices", xml]) == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["exchange_rate"] == {"currency_per_eur": 11.689, "source": "norges_bank"}
    assert doc["components"]["spot_per_kwh"][0] == pytest.approx(0.05217 * 11.689)
    cfg.write_text(f'[tariff]\nexchange_rate = "norges_bank"\nnorges_bank_url = "{url}/nothing"\n')
    assert (
        main(["tariff", "show", "--json", "--date", "2026-01-15", "--config", str(cfg), "--prices", xml]) == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["exchange_rate"]["currency_per_eur"] == 11.5
    assert doc["exchange_rate"]["source"].startswith(
        "fixed ([tariff].currency_per_eur): Norges Bank: HTTP 404"
    )
