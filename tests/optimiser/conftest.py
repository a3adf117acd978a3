"""Optimiser tests: put this folder on sys.path so tests import `checker` and `optimiser_helpers`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def examples_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "examples" / "scenarios"
