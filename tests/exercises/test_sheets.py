"""Every exercise sheet agrees with a fresh solve of its scenario, and the check can fail."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from optimiser.teach.sheets import check_sheet, parse_answers

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"
FOLDERS = sorted(p for p in EXERCISES.iterdir() if p.is_dir())


def test_there_are_six_to_eight_graded_exercises_each_with_a_scenario_and_a_sheet() -> None:
    assert 6 <= len(FOLDERS) <= 8
    levels = []
    for number, folder in enumerate(FOLDERS, start=1):
        assert folder.name.startswith(f"{number:02d}-")
        assert (folder / "scenario.toml").is_file()
        text = (folder / "sheet.md").read_text(encoding="utf-8")
        for section in ("## Question", "## Hints", "## Check it with the tool", "## Answer"):
            assert section in text, f"{folder.name}: missing {section}"
        levels.append(int(re.search(r"\*\*Level:\*\* (\d) of 4", text).group(1)))  # type: ignore[union-attr]
    assert levels == sorted(levels) and levels[0] == 1 and levels[-1] == 4, levels


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_sheet_answers_come_from_a_fresh_solve(folder: Path) -> None:
    assert check_sheet(folder / "sheet.md") == []


@pytest.fixture
def first_exercise(tmp_path: Path) -> Path:
    target = tmp_path / "01-two-prices"
    shutil.copytree(EXERCISES / "01-two-prices", target)
    return target / "sheet.md"


def test_a_wrong_start_on_a_sheet_is_reported(first_exercise: Path) -> None:
    text = first_exercise.read_text(encoding="utf-8")
    first_exercise.write_text(text.replace('washing_machine = "00:00"', 'washing_machine = "23:00"'))
    problems = check_sheet(first_exercise)
    assert any("start.washing_machine: the sheet says '23:00', the tool says '00:00'" in p for p in problems)


def test_a_changed_scenario_makes_its_sheet_fail(first_exercise: Path) -> None:
    scenario = first_exercise.parent / "scenario.toml"
    text = scenario.read_text(encoding="utf-8")
    scenario.write_text(
        text.replace("[2.00, 2.00, 2.00, 2.00, 1.00, 1.00]", "[2.00, 2.00, 2.00, 2.00, 1.00, 3.00]")
    )
    problems = check_sheet(first_exercise)
    # 00:00 now costs 2.0 x 1.00 + 0.5 x 3.00 = 3.50 (23:00: 4.50): same start, the sheet's 2.50 is wrong
    assert any("objective: the sheet says 2.5, the tool says 3.5" in p for p in problems)


def test_an_answer_missing_from_the_sheet_text_is_reported(first_exercise: Path) -> None:
    prose, block = first_exercise.read_text(encoding="utf-8").split("```answer")
    first_exercise.write_text(prose.replace("2.50", "2.5") + "```answer" + block)
    problems = check_sheet(first_exercise)
    assert problems and all("2.50 (from the answer block) is not written" in p for p in problems)


def test_answer_blocks_are_parsed_as_toml_with_known_keys_only() -> None:
    sheet = 'text\n```answer\nobjective = 1.25\n[start]\ndw = "01:00"\n```\nmore\n'
    assert parse_answers(sheet) == [{"objective": 1.25, "start": {"dw": "01:00"}}]
    with pytest.raises(ValueError, match="unknown key"):
        parse_answers("```answer\nobjektive = 1.0\n```\n", "s.md")
    with pytest.raises(ValueError, match="no ```answer block"):
        parse_answers("no answers here", "s.md")
