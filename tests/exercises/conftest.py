"""Helpers of the exercise tests: run `hems plan` (with the teaching flags) as a user would."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from hems.cli import main

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"


def run_hems(argv: Sequence[str]) -> int:
    """`hems <argv>`; the exit status."""
    return main(list(argv))


@pytest.fixture
def hems() -> Callable[[Sequence[str]], int]:
    return run_hems


@pytest.fixture
def exercises_dir() -> Path:
    return EXERCISES
