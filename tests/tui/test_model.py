"""Pure parts: the live state parser, periods and their bars, the plan parser."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tui_testing import NOW, plan_doc, state_doc

from tui.model import is_stale, parse_live
from tui.plan import next_start, parse_plan
from tui.reports import bar_starts, period_bounds, shift_anchor

OSLO = ZoneInfo("Europe/Oslo")


def test_live_state_fields_and_house_load() -> None:
    live = parse_live(state_doc())
    assert live is not None and live.time == NOW
    assert (live.import_w, live.export_w, live.pv_w) == (2345.0, 0.0, 1200.0)
    assert live.load_w == 3545.0  # import − export + PV
    assert [(lc.line, lc.i_a, lc.limit_a) for lc in live.lines] == [
        ("L1", 12.3, 25.0),
        ("L2", 8.1, 25.0),
        ("L3", 23.4, 25.0),
    ]
    kitchen = live.circuits[0]
    assert (kitchen.name, kitchen.breaker_a, kitchen.i_a, kitchen.p_w) == ("Kitchen", 16.0, 9.8, 2100.0)
    assert live.price is not None and live.price.band == "high"
    assert live.capacity is not None and live.capacity.step_upper_kw == 5.0


def test_unknown_is_not_zero_and_garbage_is_not_a_crash() -> None:
    assert parse_live(None) is None and parse_live([]) is None
    assert parse_live({"time": "yesterday"}) is None
    assert parse_live({"time": "2026-01-15T12:00:00"}) is None  # naive: not trusted
    live = parse_live(
        {
            "time": NOW.isoformat(),
            "grid": {"p_import_w": True, "i_l1_a": "7"},
            "pv": None,
            "price": "cheap",
            "alerts": [3, {"message": "x"}],
            "circuits": {"c1": None},
        }
    )
    assert live is not None
    assert live.import_w is None and live.load_w is None and live.lines[0].i_a is None
    assert live.price is None and live.capacity is None
    assert [a.message for a in live.alerts] == ["x"]
    assert live.circuits[0].id == "c1" and live.circuits[0].p_w is None


def test_stale_after_three_cycles() -> None:
    live = parse_live(state_doc())
    assert not is_stale(live, NOW + timedelta(seconds=30), timedelta(seconds=30))
    assert is_stale(live, NOW + timedelta(seconds=31), timedelta(seconds=30))
    assert is_stale(None, NOW, timedelta(seconds=30))


def test_periods_follow_the_local_calendar_and_daylight_saving() -> None:
    start, end = period_bounds("week", date(2026, 1, 15), OSLO)
    assert (start.date(), end.date()) == (date(2026, 1, 12), date(2026, 1, 19))
    start, end = period_bounds("month", date(2026, 12, 31), OSLO)
    assert (start.date(), end.date()) == (date(2026, 12, 1), date(2027, 1, 1))
    assert len(bar_starts("day", *period_bounds("day", date(2026, 3, 29), OSLO), OSLO)) == 23
    assert len(bar_starts("day", *period_bounds("day", date(2026, 10, 25), OSLO), OSLO)) == 25
    assert len(bar_starts("month", *period_bounds("month", date(2026, 3, 5), OSLO), OSLO)) == 31
    assert shift_anchor("month", date(2026, 1, 31), -1) == date(2025, 12, 1)
    assert shift_anchor("week", date(2026, 1, 15), -1) == date(2026, 1, 8)


def test_plan_parsing() -> None:
    plan = parse_plan(plan_doc())
    assert plan is not None and len(plan.slots) == 96 and plan.slot_hours == 0.25
    run = plan.runs[0]
    assert run.id == "dishwasher" and run.start == datetime(2026, 1, 15, 21, 0, tzinfo=UTC)
    assert run.explanation is not None and "cheapest" in run.explanation
    assert plan.battery_kw is None and plan.price[28] == pytest.approx(1.7)
    doc = plan_doc()
    doc["battery"] = {"charge_kw": [1.0] * 96, "discharge_kw": [0.0] * 95 + [2.0], "soc_kwh": [5.0] * 96}
    doc["appliances"]["dishwasher"]["explanation"] = ["cheapest", "window"]
    plan = parse_plan(doc)
    assert plan is not None and plan.battery_kw is not None
    assert plan.battery_kw[0] == 1.0 and plan.battery_kw[-1] == -1.0
    assert plan.runs[0].explanation == "cheapest window"
    assert parse_plan({"slots": ["nonsense"]}) is None and parse_plan(None) is None


def test_next_planned_start() -> None:
    plan = parse_plan(plan_doc())
    assert next_start(plan, NOW) == ("dishwasher", datetime(2026, 1, 15, 21, 0, tzinfo=UTC))
    assert next_start(plan, datetime(2026, 1, 15, 21, 0, tzinfo=UTC)) is None  # already started
    assert next_start(None, NOW) is None
