"""The loop's tests: helpers in loop_testing.py (the box and the twin cycled by hand), and the real
mosquitto of tests/control (a broker on a free port per test)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

_CONTROL = Path(__file__).parents[1] / "control" / "conftest.py"
_spec = importlib.util.spec_from_file_location("control_fixtures", _CONTROL)
assert _spec is not None and _spec.loader is not None
control_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(control_fixtures)
broker = control_fixtures.broker
