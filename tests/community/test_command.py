"""`hems community bill`: text, JSON, CSV, PNG, exit statuses and one-line errors."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
from community_testing import KEYS, Community, bill

from community.access import Viewer
from community.members import load_members
from community.pipeline import run_month
from community.series import Period
from community.views import chart_series

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def members(community: Community) -> Path:
    community.day_fixture()
    return community.write()


def test_text_csv_and_png_for_the_organiser(members: Path, hems, tmp_path: Path) -> None:
    out_dir, png = tmp_path / "csv", tmp_path / "month.png"
    status, out, err = bill(
        hems,
        members,
        "--csv",
        str(out_dir),
        "--png",
        str(png),
    )
    assert status == 0, err
    assert out.startswith("Rooftop: 2025-06 (Europe/Paris), scheme fr, key prorata, 15-minute settlement")
    assert "anyone with the file and the data sees every bill" in out
    assert "conformity: 0 error(s), 0 warning(s)" in out
    assert "self-consumption 76.5 %" in out  # 39.03 of 51.03 kWh
    assert "a (consumer)" in out and "roof (producer)" in out and "saving 2.34" in out
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "a.csv",
        "b.csv",
        "c.csv",
        "community.csv",
        "roof.csv",
    ]
    with (out_dir / "a.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 30 * 96
    noon = next(r for r in rows if r["slot_local"] == "2025-06-01 14:00+02:00")
    assert (noon["consumption_wh"], noon["shared_wh"], noon["grid_supply_wh"]) == ("300", "200", "100")
    assert noon["shared_cost"] == "0.0240" and noon["grid_cost"] == "0.0240"
    assert sum(int(r["shared_wh"]) for r in rows) == 30 * 650  # the CSV adds up to the bill
    with (out_dir / "community.csv").open() as fh:
        total = list(csv.DictReader(fh))
    assert sum(int(r["production_wh"]) for r in total) == 30 * 1701
    assert png.read_bytes().startswith(PNG) and png.stat().st_size > 10_000


def test_a_participants_chart_holds_only_their_series(members: Path, hems, tmp_path: Path) -> None:
    m, base = load_members(members)
    month = run_month(m, base, Period.month("2025-06", m.community.tz), None)
    series = chart_series(month, Viewer("participant", "a"))
    assert set(series) == {"consumption", "shared", "grid"} and sum(series["consumption"]) == 30 * 96 * 300
    status, _, err = bill(
        hems,
        members,
        "--as",
        "a",
        "--png",
        str(tmp_path / "a.png"),
        key=KEYS["a"],
    )
    assert status == 0 and (tmp_path / "a.png").read_bytes().startswith(PNG), err


def test_a_refused_bill_exits_3_and_writes_no_files(members: Path, hems, tmp_path: Path) -> None:
    (members.parent / "c.csv").unlink()
    status, out, err = bill(hems, members, "--csv", str(tmp_path / "x"))
    assert status == 3 and "BILL REFUSED" in out and "no CSV or PNG for a refused bill" in err
    assert not (tmp_path / "x").exists()


def test_missing_matplotlib_is_one_line(members: Path, hems, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib → ImportError
    status, _, err = bill(
        hems,
        members,
        "--png",
        str(tmp_path / "x.png"),
    )
    assert status == 2 and err.strip().endswith("--png needs matplotlib (pip install 'hems[charts]')")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--period", "June"], "--period: expected a month YYYY-MM, got 'June'"),
        (["--period", "2025-13"], "--period: expected a month YYYY-MM, got '2025-13'"),
        (["--period", "2025-06", "--prices", "nowhere.csv"], "nowhere.csv: cannot read"),
        (
            ["--period", "2025-06", "--key-file", "nowhere.key", "--as", "a"],
            "--key-file: cannot read nowhere.key",
        ),
    ],
)
def test_bad_options_are_one_line(members: Path, hems, args: list[str], expected: str) -> None:
    status, out, err = hems("community", "bill", "--members", str(members), *args)
    assert status == 2 and out == "" and expected in err and err.count("\n") == 1


def test_a_key_file_opens_a_view(members: Path, hems, tmp_path: Path) -> None:
    (tmp_path / "a.key").write_text(KEYS["a"] + "\n")
    status, out, err = bill(
        hems,
        members,
        "--as",
        "a",
        "--key-file",
        str(tmp_path / "a.key"),
    )
    assert status == 0 and "view: participant a: your own bill and series only" in out, err


def test_a_tariff_tariffs_cannot_build_is_one_line(community: Community, hems) -> None:
    community.day_fixture()
    community.participants[0] = community.participants[0].replace(
        "tariff = { spot = false", 'tariff = { grid_company = "No Such Nett", spot = false'
    )
    status, _, err = bill(hems, community.write())
    assert status == 2 and err.count("\n") == 1
    assert "members.toml: participant[0] (a).tariff.grid_company: " in err
