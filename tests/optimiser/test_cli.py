"""`hems plan` end to end: example scenarios checked independently, bad files give one line and
exit 2, the worker process, the LP export and the plan in words."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from checker import check_plan

from hems.cli import main

GOOD = """
[horizon]
start = "2026-01-15T00:00:00+01:00"
slots = 4
slot_minutes = 60

[site]
timezone = "Europe/Oslo"
network = "TN"
voltage_v = 230
main_fuse_a = 25

[series]
import_price_per_kwh = [3.0, 1.0, 2.0, 5.0]
base_load_kw = [0.5, 0.5, 0.5, 0.5]

[capacity_tariff]
step_upper_kw = [2, 5]
step_price = [100, 200, 300]
month_peaks_kw = []

[[appliance]]
id = "dw"
kind = "shiftable"
profile_kw = [1.0, 1.0]
earliest_start = "2026-01-15T00:00:00+01:00"
latest_end = "2026-01-15T04:00:00+01:00"
line = "L1"
"""


@pytest.mark.parametrize(
    "name", ["norway_winter", "norway_winter_low_peaks", "summer_pv", "it_house", "italy_3kw"]
)
def test_example_plans_pass_the_independent_checker(
    name: str, examples_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = examples_dir / f"{name}.toml"
    assert main(["plan", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "optimal" and result["mip_gap"] <= 1e-4
    scenario = tomllib.loads(path.read_text(encoding="utf-8"))
    assert check_plan(scenario, result) == []
    explained = {a["id"] for a in scenario["appliance"]} | ({"battery"} if "battery" in scenario else set())
    assert set(result["explanation"]["appliances"]) == explained


BAD = [
    ("bogus = 1\n", "[site]\n", "site.bogus", "unknown key"),
    ("", "base_load_kw = [0.5, 0.5, 0.5, 0.5]", "series.base_load_kw", "expected 4 values"),
    ("", 'latest_end = "2026-01-15T04:00:00+01:00"', "appliance[0].latest_end", "at or after earliest_start"),
    ("", "step_price = [100, 200, 300]", "capacity_tariff.step_price", "non-decreasing"),
    ("", 'line = "L1"', "appliance[0].line", "on a TN site"),
    ("", "slot_minutes = 60", "horizon.slot_minutes", "divisor of 60"),
    ("", "month_peaks_kw = []", "capacity_tariff.month_peaks_kw", "required key is missing"),
    ("", 'start = "2026-01-15T00:00:00+01:00"', "horizon.start", "UTC offset"),
]
REPLACE = {
    "series.base_load_kw": "base_load_kw = [0.5, 0.5]",
    "appliance[0].latest_end": 'latest_end = "2026-01-14T04:00:00+01:00"',
    "capacity_tariff.step_price": "step_price = [100, 300, 200]",
    "appliance[0].line": 'line = "L1L2"',
    "horizon.slot_minutes": "slot_minutes = 7",
    "horizon.start": 'start = "2026-01-15T00:00:00"',
    "capacity_tariff.month_peaks_kw": "",
}


@pytest.mark.parametrize(("insert", "anchor", "key", "expectation"), BAD)
def test_bad_scenario_is_one_clear_line_and_exit_2(
    insert: str, anchor: str, key: str, expectation: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = GOOD.replace(anchor, anchor + insert) if insert else GOOD.replace(anchor, REPLACE[key])
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["plan", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and key in lines[0] and expectation in lines[0], lines


def test_missing_file_and_broken_toml_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(tmp_path / "nope.toml")]) == 2
    broken = tmp_path / "broken.toml"
    broken.write_text("[horizon\n", encoding="utf-8")
    assert main(["plan", str(broken)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "nope.toml" in err[0] and "broken.toml" in err[1]


def test_plan_in_words_and_lp_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, lp = tmp_path / "good.toml", tmp_path / "model.lp"
    path.write_text(GOOD, encoding="utf-8")
    assert main(["plan", str(path), "--lp", str(lp), "--gap", "0", "--time-limit", "10"]) == 0
    out = capsys.readouterr().out
    assert "status: optimal" in out and "dw: starts 01:00" in out
    text = lp.read_text(encoding="utf-8")
    assert "start(0_1)" in text and "binary" in text


def test_subprocess_cli_exit_code(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace("[site]\n", "[site]\nnetwrok = 'TN'\n"), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "hems", "plan", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "site.netwrok" in proc.stderr and proc.stdout == ""


def test_worker_plans_in_a_spawned_process_without_pyomo_in_the_caller() -> None:
    code = (
        "import sys, tomllib, json\n"
        "from optimiser.worker import plan_in_subprocess\n"
        f"r = plan_in_subprocess(tomllib.loads({GOOD!r}), timeout=60)\n"
        "print(json.dumps([r['status'], r['objective'], 'pyomo' in sys.modules]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    status, objective, pyomo_loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert status == "optimal" and objective == pytest.approx(0.5 * 11 + 3.0) and not pyomo_loaded


def test_relaxed_rule_is_named_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tight.toml"
    path.write_text(GOOD.replace("main_fuse_a = 25", "main_fuse_a = 1"), encoding="utf-8")
    assert main(["plan", str(path)]) == 0
    out = capsys.readouterr().out
    assert "status: relaxed" in out and "RELAXED fuse.L1" in out


def test_worker_timeout_stops_the_process_and_reports_it() -> None:
    from optimiser.worker import WorkerError, plan_in_subprocess

    with pytest.raises(WorkerError, match="longer than"):
        plan_in_subprocess(tomllib.loads(GOOD), timeout=0.05)


def test_worker_reports_a_bad_scenario_as_one_line() -> None:
    from optimiser.worker import WorkerError, plan_in_subprocess

    bad = tomllib.loads(GOOD)
    bad["series"]["base_load_kw"] = [1.0]
    with pytest.raises(WorkerError, match=r"series\.base_load_kw: expected 4 values"):
        plan_in_subprocess(bad, timeout=60)
