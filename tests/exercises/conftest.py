"""Helpers of the exercise tests: run `hems plan` with the teaching flags, wired or not yet.

Until the lead wires `optimiser.teach.cli` into hems/commands/plan.py, `run_hems` adds the teaching
arguments to hems' own `plan` subparser and calls `run_teaching` before the command's `run`, the
way the wiring will. Once wired, it simply runs `hems.cli.main`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from hems.cli import build_parser, main
from hems.errors import UsageError
from optimiser.teach.cli import add_teaching_arguments, run_teaching

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"


def _plan_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices["plan"]  # type: ignore[no-any-return]
    raise AssertionError("hems has no plan command")


def run_hems(argv: Sequence[str]) -> int:
    """`hems <argv>` for a `plan` command line, with the teaching flags available."""
    parser = build_parser(only="plan")
    plan = _plan_parser(parser)
    if "--explain" in plan._option_string_actions and "--png" in plan._option_string_actions:
        return main(list(argv))  # already wired
    add_teaching_arguments(plan)
    args = parser.parse_args(list(argv))
    status = run_teaching(args)
    if status is not None:
        return status
    try:
        return int(args._run(args) or 0)
    except UsageError as exc:
        print(f"hems: error: {exc}")
        return exc.exit_code


@pytest.fixture
def hems() -> Callable[[Sequence[str]], int]:
    return run_hems


@pytest.fixture
def exercises_dir() -> Path:
    return EXERCISES
