"""`hems report` and `hems export` through the real CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from hems.cli import main


def test_report_json_for_a_month(month_db, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = month_db
    assert main(["report", "--db", str(path), "--period", "month", "--date", "2026-03-05", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["label"] == "2026-03" and len(doc["days"]) == 31
    assert doc["house"]["import_kwh"] == pytest.approx(sum(d["import_kwh"] for d in doc["days"]), abs=1e-3)
    assert doc["capacity_basis_kw"] == pytest.approx(8.8)
    assert set(doc["circuits"]) == {"ev", "heater", "kitchen"}


def test_report_text_defaults_to_the_newest_day(month_db, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = month_db
    assert main(["report", "--db", str(path), "--period", "day"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("hems report — day 2026-04-01 (Europe/Oslo)")
    assert "Imported from grid" in out and "heater" in out


def test_report_csv_and_png(month_db, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = month_db
    png = tmp_path / "week.png"
    args = [
        "report",
        "--db",
        str(path),
        "--period",
        "week",
        "--date",
        "2026-03-11",
        "--csv",
        "--png",
        str(png),
    ]
    assert main(args) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    values = {(r["section"], r["metric"]): r["value"] for r in rows}
    assert float(values[("house", "pv_kwh")]) == pytest.approx(56.0)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_report_with_a_config_has_the_cost(
    month_db, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = month_db
    cfg = tmp_path / "hems.toml"
    cfg.write_text(f'[storage]\npath = "{path}"\n[tariff]\ngrid_company = "Elvia"\nspot = false\n')
    assert main(["report", "--config", str(cfg), "--period", "month", "--date", "2026-03-01"]) == 0
    out = capsys.readouterr().out
    assert "Cost (NOK, VAT included)" in out and "capacity" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--db", "/nonexistent/hems.db", "--period", "day"], "no such database file"),
        (["--period", "day"], "--db: give the database"),
        (["--db", "{db}", "--period", "day", "--date", "2026-02-30"], "--date: expected a date YYYY-MM-DD"),
        (["--db", "{bad}", "--period", "day"], "cannot read the database"),
    ],
)
def test_report_bad_input_is_one_line(
    month_db, tmp_path: Path, capsys, args: list[str], message: str
) -> None:
    path, _ = month_db
    bad = tmp_path / "not-a-db"
    bad.write_text("hello, I am not SQLite" * 100)
    args = [a.format(db=path, bad=bad) for a in args]
    assert main(["report", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_export_csv_directory_and_espi(month_db, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = month_db
    out = tmp_path / "csv"
    common = ["export", "--db", str(path), "--from", "2026-03-02", "--to", "2026-03-02"]
    assert main([*common, "--format", "csv", "--resolution", "1h", "--out", str(out)]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert "grid.p_import_w_1h.csv" in files and "circuit.heater.p_w_1h.csv" in files
    assert len((out / "pv.p_w_1h.csv").read_text().splitlines()) == 25
    xml = tmp_path / "gb.xml"
    assert main([*common, "--format", "espi", "--out", str(xml)]) == 0
    assert b"http://naesb.org/espi" in xml.read_bytes()
    assert main([*common, "--format", "espi", "--resolution", "raw", "--out", str(xml)]) == 2
    assert "needs 15m, 1h or 1d" in capsys.readouterr().err


def test_report_png_without_matplotlib_says_how_to_get_it(
    month_db, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    path, _ = month_db
    png = tmp_path / "day.png"
    assert main(["report", "--db", str(path), "--period", "day", "--png", str(png)]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err
        == "hems: error: --png needs matplotlib, which is not installed: python3 -m pip install matplotlib"
    )
    assert not png.exists()


def test_a_report_without_a_tariff_says_it_has_no_cost_and_how_to_get_one(
    month_db, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = month_db
    assert main(["report", "--db", str(path), "--period", "day", "--date", "2026-03-03"]) == 0
    out = capsys.readouterr().out
    assert "Cost: not computed: no tariff (add --config FILE with a [tariff] section)" in out
    assert main(["report", "--db", str(path), "--period", "day", "--date", "2026-03-03", "--json"]) == 0
    cost = json.loads(capsys.readouterr().out)["cost"]
    assert cost == {"not_computed": "no tariff (add --config FILE with a [tariff] section)"}


def test_the_cost_says_what_it_includes_what_it_leaves_out_and_its_currency(
    month_db, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Elvia with strømstøtte, but no spot prices anywhere: the text total must say it leaves them out.
    path, _ = month_db
    cfg = tmp_path / "hems.toml"
    cfg.write_text(f'[storage]\npath = "{path}"\n[tariff]\ngrid_company = "Elvia"\n')
    args = ["report", "--config", str(cfg), "--period", "day", "--date", "2026-03-03"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Cost (NOK, VAT included)" in out
    text = " ".join(out.split())  # the explanation is wrapped to 80 columns
    assert "includes: Elvia AS grid tariff (energy part, capacity step 1/31 of the month)" in text
    assert "elavgift, Enova fee, VAT 25 %" in text
    assert "left out: spot price (none known for 2026-03-03)" in text
    assert all(len(line) <= 80 for line in out.splitlines())
    assert main([*args, "--json"]) == 0
    cost = json.loads(capsys.readouterr().out)["cost"]
    assert (cost["currency"], cost["vat_included"]) == ("NOK", True)
    assert cost["left_out"] == ["spot price (none known for 2026-03-03)"]
    assert "strømstøtte" not in " ".join(cost["includes"])  # no spot price: no support either


def test_an_unmetered_rest_of_nothing_is_not_listed(filler, tmp_path: Path, capsys) -> None:
    # Every watt is on a metered circuit (a rest of rounding noise): the text used to list
    # "(unmetered) 0.00 kWh ... 13 %", a share of nothing.
    from datetime import date, datetime

    def values(t: datetime) -> dict[str, float]:
        heater = 1500.0 if t.hour < 6 else 0.0
        pv = 800.0 if 10 <= t.hour < 14 else 0.0
        kitchen = 400.0 + 0.01  # a hair more than the grid and PV give: the rest is ~0
        net = heater + 400.0 - pv
        return {"grid.p_import_w": max(net, 0), "grid.p_export_w": max(-net, 0), "pv.p_w": pv,
                "circuit.heater.p_w": heater, "circuit.kitchen.p_w": kitchen}  # fmt: skip

    db = tmp_path / "metered.db"
    filler(db, date(2026, 3, 2), 1, 300, values)
    assert main(["report", "--db", str(db), "--period", "day", "--date", "2026-03-02"]) == 0
    out = capsys.readouterr().out
    assert "heater" in out and "kitchen" in out
    assert "(unmetered)" not in out
