"""Fixtures for the dashboard's tests: a frozen clock and a canned data source."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tui_testing import NOW, CannedSource

from hems.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def source(clock: ManualClock) -> CannedSource:
    return CannedSource(clock)
