"""`hems bill`: a month's grid and power bills from a consumption CSV, worked out by hand.

The hand-computed month: Elvia, January 2026, 2 kWh in each of the hours 01-04 every night (248 kWh,
all at the night rate 12.99 øre), nothing else; spot 1.00 NOK/kWh flat. Excluding VAT:
energy part 248 × 0.1299 = 32.2152, capacity step 2-5 kW (daily peaks 2 kW, thresholds inclusive)
152, elavgift 248 × 0.0713 = 17.6824, Enova 2.48, spot 248, strømstøtte −0.9 × (1.00 − 0.77) × 248
= −51.336. VAT 25 % of 401.0416 = 100.2604; total 501.302 NOK. With Norgespris the settlement is
(0.40 − 1.00) × 248 = −148.8: VAT 75.8944, total 379.472 — 121.83 NOK less.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hems.cli import main
from tariffs.config import TariffConfig
from tariffs.cost import cost
from tariffs.household import household_tariff
from tariffs.series import EnergySeries, PriceSeries
from tariffs.statement import statement

OSLO = ZoneInfo("Europe/Oslo")
ORE = 0.005


def local_hours(year: int, month: int) -> list[datetime]:
    """Every clock hour of a local month, as aware local times (743/744/745 of them)."""
    start = datetime(year, month, 1, tzinfo=OSLO).astimezone(UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=OSLO).astimezone(UTC)
    n = int((end - start) / timedelta(hours=1))
    return [(start + timedelta(hours=i)).astimezone(OSLO) for i in range(n)]


def night_use(t: datetime) -> float:
    return 2.0 if 1 <= t.hour <= 4 else 0.0


def write_use(path: Path, rows: list[tuple[str, float]], header: str = "time,kwh") -> Path:
    path.write_text(header + "\n" + "".join(f"{t},{kwh}\n" for t, kwh in rows), encoding="utf-8")
    return path


def write_prices(path: Path, year: int, month: int, nok: float = 1.0) -> Path:
    rows = [f"{t.isoformat()},{nok}" for t in local_hours(year, month)]
    path.write_text("start,price_per_kwh\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def january(tmp_path: Path) -> tuple[Path, Path]:
    rows = [(t.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ"), night_use(t)) for t in local_hours(2026, 1)]
    return write_use(tmp_path / "use.csv", rows), write_prices(tmp_path / "prices.csv", 2026, 1)


def bill(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["bill", *args, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_a_january_bill_worked_out_by_hand(
    january: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    use, prices = january
    doc = bill(
        capsys, "--consumption", str(use), "--company", "Elvia", "--month", "2026-01", "--prices", str(prices)
    )
    assert (doc["company"], doc["month"], doc["currency"], doc["kwh"]) == (
        "Elvia AS",
        "2026-01",
        "NOK",
        248.0,
    )
    assert doc["lines"] == pytest.approx(
        {
            "energy": 32.22,
            "capacity": 152.0,
            "elavgift": 17.68,
            "enova": 2.48,
            "support": -51.34,
            "spot": 248.0,
            "vat": 100.26,
        },
        abs=ORE,
    )
    assert doc["total"] == pytest.approx(501.30, abs=ORE)
    assert doc["capacity_basis_kw"] == pytest.approx(2.0) and doc["capacity_step"] == "2-5 kW"
    assert doc["grid_bill"] + doc["power_bill"] == pytest.approx(doc["total"], abs=0.011)
    assert doc["power_bill"] == pytest.approx(248 * 1.25, abs=ORE)
    assert doc["notes"] == [] and doc["left_out"] == []


def test_the_bill_is_the_same_bill_reports_compute() -> None:
    hours = local_hours(2026, 1)
    household = household_tariff(TariffConfig(grid_company="Elvia", supplier_markup_per_kwh=0.05))
    use = read_consumption_rows([(t, 0.5 + (t.hour % 5) * 0.7) for t in hours])
    spot = PriceSeries(hours[0], 60, [0.3 + (i % 24) * 0.05 for i in range(len(hours))])
    s = statement(household, use, spot)
    assert s.total == pytest.approx(cost(household, use, spot).total, abs=1e-6)
    assert s.lines["markup"] == pytest.approx(0.05 * s.kwh)


def read_consumption_rows(rows: list[tuple[datetime, float]]) -> EnergySeries:
    from tariffs.consumption import parse_consumption_csv

    text = "time,kwh\n" + "".join(f"{t.isoformat()},{kwh}\n" for t, kwh in rows)
    return parse_consumption_csv(text).month(2026, 1, "Europe/Oslo").energy


def test_compare_spot_with_strømstøtte_and_norgespris(
    january: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    use, prices = january
    args = ["--consumption", str(use), "--company", "Elvia", "--month", "2026-01", "--prices", str(prices)]
    doc = bill(capsys, *args, "--compare")
    assert doc["spot"]["total"] == pytest.approx(501.30, abs=ORE)
    assert doc["norgespris"]["lines"]["support"] == pytest.approx(-148.8, abs=ORE)
    assert doc["norgespris"]["total"] == pytest.approx(379.47, abs=ORE)
    assert doc["difference"] == pytest.approx(379.472 - 501.302, abs=0.01)
    assert doc["cheaper"] == "norgespris"
    assert main(["bill", *args, "--compare"]) == 0
    out = capsys.readouterr().out
    assert "spot + strømstøtte" in out and "Norgespris" in out
    assert "Norgespris would have cost 121.83 NOK less than spot with strømstøtte" in out
    assert all(len(line) <= 80 for line in out.splitlines())


def test_quarter_hours_in_local_time_give_the_same_bill(
    january: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, prices = january
    rows = []
    for t in local_hours(2026, 1):
        for q in range(4):
            rows.append(((t + timedelta(minutes=15 * q)).isoformat(), night_use(t) / 4))
    use = write_use(tmp_path / "quarters.csv", rows)
    doc = bill(
        capsys, "--consumption", str(use), "--company", "Elvia", "--month", "2026-01", "--prices", str(prices)
    )
    assert doc["total"] == pytest.approx(501.30, abs=ORE) and doc["kwh"] == pytest.approx(248.0)


@pytest.mark.parametrize(("month", "hours"), [(3, 743), (10, 745)])
def test_dst_months_in_local_time_without_offsets(
    month: int, hours: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Local wall-clock times without an offset, as a spreadsheet writes them: in October the
    # repeated hour 02:00 appears twice (summer time first), in March 02:00 never appears.
    local = local_hours(2025, month)
    assert len(local) == hours
    use = write_use(tmp_path / "use.csv", [(t.strftime("%Y-%m-%d %H:%M"), 1.0) for t in local])
    doc = bill(capsys, "--consumption", str(use), "--company", "Elvia", "--month", f"2025-{month:02d}")
    assert doc["kwh"] == pytest.approx(hours)
    assert not any("no consumption" in n for n in doc["notes"])
    assert doc["left_out"] == ["spot price and the support that depends on it (no prices: --prices FILE)"]
    assert set(doc["lines"]) == {"energy", "capacity", "elavgift", "enova", "vat"}


def test_missing_hours_are_said(
    january: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    use, prices = january
    lines = use.read_text().splitlines()
    del lines[100:106]  # six hours of 5 January gone
    use.write_text("\n".join(lines) + "\n")
    doc = bill(
        capsys, "--consumption", str(use), "--company", "Elvia", "--month", "2026-01", "--prices", str(prices)
    )
    assert (
        "6 of 744 hours have no consumption in the file (first 2026-01-05 03:00): counted as 0 kWh"
        in " ".join(doc["notes"])
    )


def test_a_holiday_home_gets_no_strømstøtte_on_its_bill(
    january: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    use, prices = january
    doc = bill(capsys, "--consumption", str(use), "--company", "Elvia", "--month", "2026-01",
               "--prices", str(prices), "--customer-group", "fritid")  # fmt: skip
    assert doc["lines"]["support"] == 0.0 and doc["customer_group"] == "fritid"
    assert any("no strømstøtte" in n for n in doc["notes"])


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            "time,kwh\n2026-01-01T00:00+01:00,1\n2026-01-01T01:00+01:00,x\n",
            "use.csv:3: kwh 'x' is not a number",
        ),
        ("time,kwh\n01.01.2026 00:00,1\n", "use.csv:2: time '01.01.2026 00:00' is not a date and time"),
        ("when,energy\n2026-01-01T00:00+01:00,1\n", "use.csv:1: header must name the columns time,kwh"),
        (
            "time,kwh\n2026-01-01T00:00+01:00,1\n2026-01-01T00:00+01:00,1\n",
            "use.csv:3: the same interval twice",
        ),
        (
            "time,kwh\n2026-01-01T01:00+01:00,1\n2026-01-01T00:00+01:00,1\n",
            "use.csv:3: rows must be in time order",
        ),
        ("time,kwh\n2026-01-01T00:00+01:00,-1\n", "use.csv:2: kwh -1 is not an energy"),
        ("time,kwh\n2026-03-29 02:30,1\n", "use.csv:2: local time 2026-03-29 02:30 does not exist"),
        (
            "time,kwh\n2026-01-01T00:10+01:00,1\n2026-01-01T00:25+01:00,1\n",
            "use.csv:2: time 23:10:00 UTC is not on",
        ),
        (
            "time,kwh\n2025-12-01T00:00+01:00,1\n",
            "no consumption in 2026-01 (the file covers 2025-12-01 00:00",
        ),
    ],
)
def test_bad_consumption_files_are_one_line_with_the_line_number(
    rows: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    use = tmp_path / "use.csv"
    use.write_text(rows, encoding="utf-8")
    assert main(["bill", "--consumption", str(use), "--company", "Elvia", "--month", "2026-01"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_a_resolution_change_inside_the_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = datetime(2026, 1, 1, tzinfo=OSLO)
    times = [start + timedelta(minutes=15 * i) for i in range(8)]
    times += [times[-1] + timedelta(hours=h) for h in range(1, 6)]
    use = write_use(tmp_path / "use.csv", [(t.isoformat(), 0.5) for t in times])
    assert main(["bill", "--consumption", str(use), "--company", "Elvia", "--month", "2026-01"]) == 2
    assert "use.csv:12: the rows change from 15-minute to hourly values" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--month": "January"}, "--month: expected YYYY-MM, got 'January'"),
        ({"--company": "Elvai"}, "--company: unknown grid company 'Elvai' (did you mean Elvia AS?)"),
        ({"--compare": None}, "--compare needs --prices FILE"),
        ({"--prices": "/nonexistent.csv"}, "/nonexistent.csv: cannot read"),
        ({"--consumption": "/nonexistent.csv"}, "/nonexistent.csv: cannot read"),
        ({"--currency-per-eur": "0"}, "--currency-per-eur: expected a rate > 0"),
    ],
)
def test_bad_arguments_are_one_line(
    change: dict[str, str | None],
    message: str,
    january: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    use, _ = january
    options: dict[str, str | None] = {"--consumption": str(use), "--company": "Elvia", "--month": "2026-01"}
    options.update(change)
    argv = [x for k, v in options.items() for x in ([k] if v is None else [k, v])]
    assert main(["bill", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_prices_in_eur_say_the_rate_they_were_converted_at(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hours = local_hours(2026, 1)
    use = write_use(tmp_path / "use.csv", [(t.isoformat(), night_use(t)) for t in hours])
    eur = tmp_path / "eur.csv"
    eur.write_text("start,price_eur_per_mwh\n" + "".join(f"{t.isoformat()},100\n" for t in hours))
    doc = bill(capsys, "--consumption", str(use), "--company", "Elvia", "--month", "2026-01",
               "--prices", str(eur), "--currency-per-eur", "11.0")  # fmt: skip
    assert doc["lines"]["spot"] == pytest.approx(248 * 1.1, abs=ORE)
    assert "spot prices in EUR converted at 11 NOK/EUR (--currency-per-eur)" in doc["notes"]


def test_fjellnett_looks_back_a_year_in_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The weighted method takes the five highest weekly peaks of the last 12 months: with only the
    # month in the file the bill says it could not look back.
    hours = local_hours(2026, 1)
    use = write_use(tmp_path / "use.csv", [(t.isoformat(), night_use(t)) for t in hours])
    doc = bill(capsys, "--consumption", str(use), "--company", "Fjellnett", "--month", "2026-01")
    assert doc["capacity_method"] == "FEM_VEKTET_ÅR"
    assert any("12 months" in n and "1 of them" in n for n in doc["notes"])
