"""`hems tariff show|companies` end to end, and the [tariff] config section."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hems.cli import main
from hems.config import load_config, parse_config
from hems.errors import UsageError
from hems.storage import Storage
from hems.storage.price_cache import SqlitePriceCache
from tariffs.series import PriceSeries, local_day_bounds

DATA = Path(__file__).parents[1] / "data" / "tariffs"


def _show(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["tariff", "show", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_show_with_a_price_file(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _show(
        capsys, "--date", "2026-01-15", "--company", "Elvia", "--prices", str(DATA / "prices_2026-01-15.csv")
    )
    assert doc["spot_source"] == f"file: {DATA / 'prices_2026-01-15.csv'}"
    assert len(doc["slots"]) == 96 and doc["slots"][0] == "2026-01-15T00:00:00+01:00"
    assert doc["import_price_per_kwh"][0] == pytest.approx(1.014)  # 00:00, night
    assert doc["import_price_per_kwh"][48] == pytest.approx(1.36775)  # 12:00, day, with support
    assert doc["export_price_per_kwh"][48] == pytest.approx(1.10)
    assert doc["capacity_tariff"]["step_price"][0] == pytest.approx(125.0)
    assert doc["capacity_tariff"]["month_peaks_kw"] == []
    assert doc["grid_gln"] == ["7080005046220"]
    assert doc["credit"] == "Grid tariff data: fri-nettleie, kraftsystemet.no (CC BY 4.0)"


def test_show_an_entsoe_dst_document_hourly(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _show(capsys, "--date", "2026-03-29", "--company", "Elvia", "--slot-minutes", "60",
                "--prices", str(DATA / "entsoe_no1_2026-03-29_pt15m_dst.xml"))  # fmt: skip
    assert len(doc["slots"]) == 23
    assert doc["components"]["spot_per_kwh"][0] == pytest.approx(0.575)  # 50 EUR/MWh x 11.5


def test_show_without_any_price_source_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _show(capsys, "--date", "2026-10-25", "--company", "7080005046220")
    assert doc["spot_source"] == "none: no price source or cached prices; spot part left out (0)"
    assert len(doc["slots"]) == 100


def test_show_falls_back_to_the_cached_pattern(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "hems.db"
    start, _ = local_day_bounds(date(2026, 1, 14), "Europe/Oslo")
    Storage.open(db, timezone="Europe/Oslo").close()  # the box's database, where its price cache lives
    con = sqlite3.connect(db)
    SqlitePriceCache(con).put("NO3", PriceSeries(start, 60, [0.3] * 24))
    con.close()
    cfg = tmp_path / "hems.toml"
    cfg.write_text(f'[storage]\npath = "{db}"\n[tariff]\ngrid_company = "Elvia"\nbidding_zone = "NO3"\n')
    doc = _show(capsys, "--date", "2026-01-16", "--config", str(cfg))
    assert doc["spot_source"] == "fallback: last known pattern (2026-01-14)"
    assert doc["components"]["spot_per_kwh"] == [0.3] * 96


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "15.01.2026"], "--date: expected YYYY-MM-DD"),
        (["--company", "Nowhere"], "unknown grid company 'Nowhere'"),
        (["--prices", "/nonexistent/p.csv"], "cannot read"),
        (["--date", "2026-01-16", "--prices", str(DATA / "prices_2026-01-15.csv")], "not all of 2026-01-16"),
        (["--company", "Elvia", "--date", "2019-01-01"], "no husholdning tariff valid on 2019-01-01"),
        (["--zone", "NO9"], "--zone: a bidding zone (NO1, NO2"),
    ],
)
def test_show_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["tariff", "show", "--date", "2026-01-15", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_companies_lists_the_presets_with_credit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tariff", "companies", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["companies"]) == 74
    assert "CC BY 4.0" in doc["credit"]


def test_tariff_config_section(tmp_path: Path) -> None:
    cfg = tmp_path / "hems.toml"
    cfg.write_text(
        '[site]\ncountry = "IT"\ntimezone = "Europe/Rome"\n'
        '[tariff]\nspot = false\nband_preset = "IT_F1F2F3"\ncontracted_power_kw = 3.0\nvat_rate = 0.1\n'
        "band_prices_per_kwh = { F1 = 0.3, F2 = 0.25, F3 = 0.2 }\n"
        '[[tariff.band]]\nname = "evening"\nprice_per_kwh = 0.01\ndays = ["weekday"]\nhours = "19-22"\n'
    )
    t = load_config(cfg).tariff
    assert (t.band_preset, t.contracted_power_kw, t.band[0].hours) == ("IT_F1F2F3", 3.0, "19-22")
    for bad, message in [
        ({"tariff": {"grid_compnay": "Elvia"}}, "tariff.grid_compnay: unknown key"),
        ({"tariff": {"support_scheme": "free"}}, "tariff.support_scheme"),
        ({"tariff": {"bidding_zone": "Oslo"}}, "tariff.bidding_zone: expected a bidding zone"),
        ({"tariff": {"band_preset": "IT_F1F2F3", "band_prices_per_kwh": {"F1": 1}}}, "missing ['F2', 'F3']"),
        ({"tariff": {"band": [{"name": "x", "price_per_kwh": 1, "hours": "25"}]}}, "tariff.band[0].hours"),
        ({"tariff": {"band": [{"name": "x", "price_per_kwh": 1, "days": ["someday"]}]}}, "got 'someday'"),
    ]:
        with pytest.raises(UsageError, match=re.escape(message)):
            parse_config(bad, "hems.toml")


def test_show_italian_household(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cfg = tmp_path / "hems.toml"
    cfg.write_text(
        '[site]\ncountry = "IT"\ntimezone = "Europe/Rome"\n'
        '[tariff]\nspot = false\nband_preset = "IT_F1F2F3"\ncontracted_power_kw = 3.0\nvat_rate = 0.1\n'
        "band_prices_per_kwh = { F1 = 0.3, F2 = 0.25, F3 = 0.2 }\n"
    )
    doc = _show(capsys, "--date", "2026-01-14", "--config", str(cfg), "--slot-minutes", "60")
    assert doc["components"]["band"][8] == "F1" and doc["components"]["band"][7] == "F2"
    assert doc["import_price_per_kwh"][8] == pytest.approx(0.33)
    assert (doc["power_limit_kw"], doc["capacity_tariff"], doc["currency"]) == (3.3, None, "EUR")
    nok = str(DATA / "prices_2026-01-15.csv")
    assert main(["tariff", "show", "--date", "2026-01-15", "--config", str(cfg), "--prices", nok]) == 2
    assert "prices in NOK/kWh, but this household pays in EUR" in capsys.readouterr().err


def test_show_fetches_from_entsoe_once_then_uses_the_cache(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    body = (DATA / "entsoe_no1_2026-01-15_pt60m.xml").read_bytes()
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        cfg = tmp_path / "hems.toml"
        cfg.write_text(
            f'[storage]\npath = "{tmp_path / "hems.db"}"\n'
            f'[tariff]\ngrid_company = "Elvia"\nentsoe_token = "secret"\ncurrency_per_eur = 10.0\n'
            f'entsoe_url = "http://127.0.0.1:{httpd.server_address[1]}/api"\n'
        )
        (tmp_path / "hems.db").touch()
        first = _show(capsys, "--date", "2026-01-15", "--config", str(cfg))
        second = _show(capsys, "--date", "2026-01-15", "--config", str(cfg))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert (first["spot_source"], second["spot_source"], len(hits)) == ("entsoe", "cache", 1)
    assert first["components"]["spot_per_kwh"][0] == pytest.approx(0.5217)  # 52.17 EUR/MWh x 10
    assert first["import_price_per_kwh"] == second["import_price_per_kwh"]


def test_show_takes_the_months_peaks_from_the_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from hems.storage import SampleWriter, Storage

    db = tmp_path / "hems.db"
    st = Storage.open(db, timezone="Europe/Oslo")
    writer = SampleWriter(st)
    start = datetime(2026, 1, 1, tzinfo=ZoneInfo("Europe/Oslo"))
    peaks = {0: 3000.0, 1: 6000.0, 2: 2000.0}  # W during 18:00-19:00 of 1, 2 and 3 January
    for i in range(3 * 24 * 12):  # every 5 minutes
        t = start + timedelta(minutes=5 * i)
        w = peaks[t.day - 1] if t.hour == 18 else 500.0
        writer.add(t, {"grid.p_import_w": w})
    writer.close()
    st.close()
    doc = _show(capsys, "--date", "2026-01-04", "--company", "Elvia", "--db", str(db))
    assert doc["capacity_tariff"]["month_peaks_kw"] == pytest.approx([3.0, 6.0, 2.0])
    assert doc["spot_source"].startswith("none")  # the database has no cached prices


def test_show_without_a_grid_company_says_what_its_price_leaves_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = _show(capsys, "--date", "2026-01-15")
    assert doc["capacity_tariff"] is None and doc["currency"] == "NOK" and doc["vat_included"] is True
    assert doc["left_out"] == [
        "grid tariff (no grid company: --company NAME or [tariff].grid_company)",
        "spot price (none known for 2026-01-15)",
    ]
    assert doc["includes"] == ["elavgift, Enova fee", "VAT 25 %"]
    assert main(["tariff", "show", "--date", "2026-01-15"]) == 0
    out = capsys.readouterr().out
    assert "prices in NOK/kWh, VAT included" in out and "left out: grid tariff" in out
    with_company = _show(capsys, "--date", "2026-01-15", "--company", "Elvia")
    assert with_company["capacity_tariff"]["step_price"][0] == pytest.approx(125.0)
    assert with_company["includes"][0] == "Elvia AS grid tariff (energy part, capacity steps)"
