"""Helpers of the optimiser tests: tiny scenario builder, solve-and-check (imported via conftest's path)."""

from __future__ import annotations

import copy
from typing import Any

from checker import check_plan

from optimiser.plan import plan_scenario


def tiny(n: int, prices: list[float], **series: list[float]) -> dict[str, Any]:
    """A scenario of `n` hourly slots from 2026-01-15 00:00 Oslo, TN 230 V, no fuse, no devices."""
    return {
        "horizon": {"start": "2026-01-15T00:00:00+01:00", "slots": n, "slot_minutes": 60},
        "site": {"timezone": "Europe/Oslo", "network": "TN", "voltage_v": 230},
        "series": {"import_price_per_kwh": prices, "base_load_kw": [0.0] * n, **series},
    }


def solve_checked(scenario: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Plan `scenario` and assert the independent checker finds nothing wrong."""
    result = plan_scenario(copy.deepcopy(scenario), **kwargs)
    problems = check_plan(scenario, result)
    assert problems == [], problems
    return result
