"""`hems plan --explain / --compare / --plot / --png` on tiny scenarios whose answers are known by hand.

Exercise 01 (one washing machine: 2.0 kW then 0.5 kW, 20:00-02:00, 2.00 NOK/kWh until midnight and
1.00 after): the five starts cost 5.00, 5.00, 5.00, 4.50 and 2.50 NOK (20:00 ... 00:00).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from optimiser.teach.cli import add_teaching_arguments, run_teaching

Hems = Callable[[Sequence[str]], int]


@pytest.fixture
def two_prices(exercises_dir: Path) -> Path:
    return exercises_dir / "01-two-prices" / "scenario.toml"


def _variant(tmp_path: Path, source: Path, name: str, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text
    target = tmp_path / name
    target.write_text(text.replace(old, new), encoding="utf-8")
    return target


def test_explain_states_the_model_with_this_scenarios_numbers(
    hems: Hems, two_prices: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert hems(["plan", str(two_prices), "--explain"]) == 0
    raw = capsys.readouterr().out
    out = " ".join(raw.split())
    # variables: import and export in 6 slots (12) + one yes/no per start (5) = 17, 5 of them yes/no;
    # constraints: one balance per slot (6) + "exactly one start" (1) = 7
    assert "5 yes/no variables start[s]" in out
    assert "In total: 17 variables, 5 of them yes/no" in out
    assert "In total: 7 constraints" in out
    assert "power 2, 0.5 kW in the 2 slots after its start (2.50 kWh)" in out
    assert "must have finished by 02:00" in out
    assert "import price from 1.000 per kWh (at 00:00) to 2.000 per kWh (at 20:00)" in out
    assert "cost: 2.50 = energy 2.50 + capacity 0.00" in out
    costs = {line.split()[1].rstrip(":"): line.split()[2] for line in raw.splitlines() if "  start " in line}
    assert costs == {"20:00": "5.00", "21:00": "5.00", "22:00": "5.00", "23:00": "4.50", "00:00": "2.50"}
    assert "start 00:00:     2.50  <- chosen" in raw
    assert max(len(line) for line in raw.splitlines()) <= 80


def test_explain_names_the_fuse_in_amperes_and_kilowatts(
    hems: Hems, exercises_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert hems(["plan", str(exercises_dir / "03-fuse-one-at-a-time" / "scenario.toml"), "--explain"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "at most 16 A on every line in every slot; at most 3.68 kW in total (16 A x 230 V)" in out
    assert "start 02:00: 2.84 (would overload the fuse)" in out  # washing machine next to the dryer
    assert "highest line current: 12.6 A on L1 (fuse 16 A)" in out  # (0.4 + 2.5) kW / 230 V


def test_compare_shows_the_changed_window_and_why_the_start_moved(
    hems: Hems, two_prices: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    early = _variant(
        tmp_path, two_prices, "early.toml", 'latest_end = "2026-01-16T02:00', 'latest_end = "2026-01-16T01:00'
    )
    assert hems(["plan", "--compare", str(two_prices), str(early)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "appliance washing_machine: latest_end: 2026-01-16T02:00:00+01:00 -> 2026-01-16T01:00:00+01:00" in out
    )
    assert "objective: 2.50 -> 4.50 (+2.00)" in out
    assert "washing_machine: start moved 00:00 -> 23:00 (1 h earlier)." in out
    assert "In B the old start 00:00 is not allowed any more (outside its window)." in out
    assert "In A the new start 23:00 would have cost 4.50 against 2.50 for the old one." in out


def test_compare_shows_a_changed_price_and_prices_both_starts(
    hems: Hems, two_prices: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dear = _variant(
        tmp_path,
        two_prices,
        "dear.toml",
        "[2.00, 2.00, 2.00, 2.00, 1.00, 1.00]",
        "[2.00, 2.00, 2.00, 1.50, 3.00, 1.00]",
    )
    # starts: 20:00 5.00, 21:00 5.00, 22:00 2.0x2.00 + 0.5x1.50 = 4.75, 23:00 2.0x1.50 + 0.5x3.00 = 4.50,
    # 00:00 2.0x3.00 + 0.5x1.00 = 6.50: the start moves to 23:00
    assert hems(["plan", str(dear), "--compare", str(two_prices)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "series.import_price_per_kwh: 2 slot(s) changed: 23:00 2 -> 1.5, 00:00 1 -> 3" in out
    assert "washing_machine: start moved 00:00 -> 23:00 (1 h earlier)." in out
    assert "In B the old start 00:00 would cost 6.50, the new one costs 4.50: 2.00 cheaper." in out
    assert "In A the new start 23:00 would have cost 4.50 against 2.50 for the old one." in out


def test_compare_shows_the_hours_an_energy_need_moved_to(
    hems: Hems, exercises_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # exercise 04: 20 kWh at up to 7.4 kW fills 02:00 (0.65), 01:00 (0.70), 03:00 (0.75) = 13.89 NOK.
    # At 0.60 NOK/kWh, 00:00 replaces 03:00: 7.4 x 0.60 + 7.4 x 0.65 + 5.2 x 0.70 = 12.89 NOK
    ev = exercises_dir / "04-ev-cheapest-hours" / "scenario.toml"
    cheap = _variant(tmp_path, ev, "cheap.toml", "0.90, 0.85, 0.70, 0.65", "0.90, 0.60, 0.70, 0.65")
    assert hems(["plan", "--compare", str(ev), str(cheap)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "series.import_price_per_kwh: 1 slot(s) changed: 00:00 0.85 -> 0.6" in out
    assert "objective: 13.89 -> 12.89 (-1.00)" in out
    assert "slots no longer used: 03:00; new slots: 00:00." in out


def test_compare_of_a_scenario_with_itself_finds_nothing(
    hems: Hems, two_prices: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert hems(["plan", str(two_prices), "--compare", str(two_prices)]) == 0
    out = capsys.readouterr().out
    assert "nothing: the two scenarios are the same." in out
    assert "washing_machine: still starts at 00:00." in out


def test_plot_fits_80_columns_and_puts_the_program_in_its_hours(
    hems: Hems, two_prices: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert hems(["plan", str(two_prices), "--plot"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 80 and line.isascii() for line in lines)
    power = lines[lines.index("Power [kW]: what uses it (stacked), PV as *") + 1 :]
    power = power[: next(i for i, line in enumerate(power) if line.lstrip().startswith("+"))]
    axis = next(line for line in lines if line.lstrip().startswith("+"))
    cw = (axis.index("21") - axis.index("20")) if "21" in axis else None
    assert cw, axis
    start = axis.index("00")  # the 00:00 column: the program runs 00:00 and 01:00, nowhere else
    columns = {i for line in power for i, c in enumerate(line) if c == "W"}
    assert columns == set(range(start, start + 2 * cw))
    # bars are as tall as the power: 10 rows span 0..2.1 kW (0.21 kW each, filled where the row's middle
    # is below the bar): 2.0 kW fills all 10 rows, 0.5 kW the lowest 2
    assert sum(line[start : start + 1] == "W" for line in power) == 10
    assert sum(line[start + cw : start + cw + 1] == "W" for line in power) == 2
    assert "W washing_machine" in lines[-2]
    # prices: 2.00 until midnight, 1.00 after; the axis starts at 1.00 - 0.25 x 1.00 = 0.75 (labelled),
    # so the dear hours fill all 7 rows and the cheap ones only the bottom row (0.75 to 0.93 per kWh)
    price = lines[lines.index("Import price [per kWh]") + 1 : lines.index("Import price [per kWh]") + 8]
    assert price[-1].startswith("   0.75|")
    assert sum(line[axis.index("20")] == "#" for line in price) == 7
    assert sum(line[start : start + 1] == "#" for line in price) == 1


def test_plot_of_a_96_slot_day_with_fuse_fits_80_columns(
    hems: Hems, capsys: pytest.CaptureFixture[str]
) -> None:
    day = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "norway_winter.toml"
    assert hems(["plan", str(day), "--plot"]) == 0
    out = capsys.readouterr().out
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "(30 min per column" in out and "fuse 25 A" in out


def test_png_is_written(
    hems: Hems, exercises_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "plan.png"
    assert hems(["plan", str(exercises_dir / "05-sunny-day" / "scenario.toml"), "--png", str(target)]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 20_000
    assert f"chart written to {target}" in capsys.readouterr().out


def test_png_with_json_keeps_stdout_pure_json(
    hems: Hems, two_prices: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "plan.png"
    assert hems(["plan", str(two_prices), "--json", "--png", str(target)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["appliances"]["washing_machine"]["start"] == "2026-01-16T00:00:00+01:00"
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_lp_file_is_written_next_to_the_explanation(
    hems: Hems, two_prices: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lp = tmp_path / "model.lp"
    assert hems(["plan", str(two_prices), "--explain", "--lp", str(lp)]) == 0
    text = lp.read_text(encoding="utf-8")
    assert all(f"start(0_{s})" in text for s in range(5)) and "min" in text and "binary" in text
    assert "THE MODEL IN WORDS" in capsys.readouterr().out


def test_a_bad_scenario_is_one_line_and_exit_2(
    hems: Hems, two_prices: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _variant(tmp_path, two_prices, "bad.toml", "voltage_v = 230", "voltage_v = -230")
    assert hems(["plan", str(bad), "--explain"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{bad}: site.voltage_v:" in err[0]
    assert hems(["plan", str(two_prices), "--compare", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml: (file): expected an existing scenario file" in capsys.readouterr().err


def test_json_with_a_text_view_is_refused(
    hems: Hems, two_prices: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert hems(["plan", str(two_prices), "--json", "--plot"]) == 2
    assert "--json cannot be combined" in capsys.readouterr().err


def test_without_teaching_flags_the_normal_plan_runs(
    hems: Hems, two_prices: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario")
    add_teaching_arguments(parser)
    assert run_teaching(parser.parse_args([str(two_prices)])) is None
    assert hems(["plan", str(two_prices)]) == 0
    out = capsys.readouterr().out
    assert "washing_machine: starts 00:00, costs 2.50" in out and "THE MODEL IN WORDS" not in out


def test_the_flags_module_imports_neither_pyomo_nor_matplotlib() -> None:
    code = (
        "import sys, optimiser.teach.cli; "
        "print(sorted(m for m in ('pyomo', 'matplotlib', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_readmes_install_brings_what_png_needs() -> None:
    # README: `python3 -m pip install -e .` then `hems plan ... --png plan.png`: matplotlib must be a
    # dependency of the package itself, not of an extra the README never names.
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    assert any(d.startswith("matplotlib") for d in pyproject["project"]["dependencies"])


def test_png_without_matplotlib_says_how_to_get_it_in_one_line(
    hems: Hems,
    two_prices: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    target = tmp_path / "plan.png"
    assert hems(["plan", str(two_prices), "--png", str(target)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert (
        err
        == "hems: error: --png needs matplotlib, which is not installed: python3 -m pip install matplotlib"
    )
    assert captured.out == "" and not target.exists()


def test_explain_names_the_capacity_step_when_it_makes_a_start_dear(
    hems: Hems, capsys: pytest.CaptureFixture[str]
) -> None:
    # norway_winter: the dishwasher at 20:00 would lift the month's capacity figure above 5 kW,
    # into the next step (336 instead of 200 a month): that, not the energy, costs the extra 136.
    day = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "norway_winter.toml"
    assert hems(["plan", str(day), "--explain"]) == 0
    out = capsys.readouterr().out
    rows = {line.strip()[:11]: line for line in out.splitlines() if line.startswith("     start ")}
    dear = rows["start 20:00"]
    assert "138.36" in dear and "(into capacity step 5-10 kW: +136.00)" in dear
    assert "capacity step" not in rows["start 21:45"]  # the chosen start keeps the step
    assert all(len(line) <= 80 for line in out.splitlines())


def test_compare_does_not_contradict_itself_about_the_fuse(
    hems: Hems, exercises_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The 16 A fuse keeps the two machines apart without any slot at its limit: the limits must not
    # say "no fuse at its limit" right after "would overload the fuse".
    ex = exercises_dir / "03-fuse-one-at-a-time"
    assert hems(["plan", "--compare", str(ex / "no_fuse.toml"), str(ex / "scenario.toml")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "In B the old start 02:00 would overload the fuse." in out
    assert "no fuse at its limit" not in out
    assert (
        "Limits in B: fuse: at most 12.6 A of 16 A (L1), no slot at the limit; it rules out "
        "washing_machine at 02:00, dryer at 02:00 (they would overload it)." in out
    )
    assert "Limits in A: no fuse and no capacity tariff in this scenario." in out


def test_a_relaxed_plan_says_the_fuse_is_over_its_limit_and_the_penalty_is_not_money(
    hems: Hems, exercises_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = exercises_dir / "03-fuse-one-at-a-time"
    six = _variant(tmp_path, ex / "scenario.toml", "fuse6.toml", "main_fuse_a = 16", "main_fuse_a = 6")
    assert hems(["plan", "--compare", str(ex / "scenario.toml"), str(six)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "at its 6 A limit" not in out
    assert "fuse L1: over its 6 A limit in 4 slot(s) from 01:00, up to 12.6 A: no plan could keep it." in out
    assert "in B the rule fuse.L1 had to be broken: 6.61 A over its limit." in out
    assert "objective: 9.88 -> 220879.44 (+220869.57; B's includes a penalty of 220869.57 for" in out
    assert "money: 9.88 -> 9.88 (+0.00)" in out
    assert hems(["plan", str(six), "--explain"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    headline = (
        "cost: 220879.44 = energy 9.88 + capacity 0.00 + penalty for broken rules 220869.57 (not money)"
    )
    assert headline in out
    assert "at its 6 A limit" not in out
    assert hems(["plan", str(six)]) == 0
    out = capsys.readouterr().out
    assert "+ penalty for broken rules 220869.57 (not money)" in out
    assert "RELAXED fuse.L1: 6.61 A over its limit" in out
    assert hems(["plan", str(six), "--plot"]) == 0
    out = capsys.readouterr().out
    assert "Cost 220879.44 = energy 9.88 + capacity 0.00 + penalty" in out
    assert "(penalty 220869.57 for rules the plan had to break: not money)" in out


def test_the_plots_fuse_line_sits_at_the_fuse(hems: Hems, capsys: pytest.CaptureFixture[str]) -> None:
    # The fuse row was labelled 27.50 on the axis and "fuse 25 A" at its end.
    day = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "norway_winter.toml"
    assert hems(["plan", str(day), "--plot"]) == 0
    fuse_rows = [line for line in capsys.readouterr().out.splitlines() if line.endswith("fuse 25 A")]
    assert len(fuse_rows) == 1 and fuse_rows[0].startswith("  25.00|===")


def test_explains_hourly_table_names_every_column_in_full(
    hems: Hems, exercises_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The header cut names to 8 characters ("washing_"); a name that does not fit says so below.
    assert hems(["plan", str(exercises_dir / "03-fuse-one-at-a-time" / "scenario.toml"), "--explain"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.strip().startswith("time  price"))
    assert header.split()[4:6] == ["washing_machine", "dryer"]
    assert all(len(line) <= 80 for line in out.splitlines())


def test_explains_hourly_table_says_what_a_shortened_column_is(
    hems: Hems, exercises_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = exercises_dir / "03-fuse-one-at-a-time" / "scenario.toml"
    long = _variant(tmp_path, source, "long.toml", 'id = "dryer"', 'id = "tumble_dryer_in_basement"')
    assert hems(["plan", str(long), "--explain"]) == 0
    out = capsys.readouterr().out
    assert "(columns: washing~ = washing_machine, tumble_~ = tumble_dryer_in_basement)" in out
    assert all(len(line) <= 80 for line in out.splitlines())
