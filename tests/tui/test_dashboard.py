"""Pilot tests: each screen shows the numbers it was fed; modes switch; the source goes and comes back."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.widgets import DataTable
from textual.widgets._footer import FooterKey
from tui_testing import NOW, CannedSource, plain, screen_text, settle, state_doc

from hems.clock import ManualClock
from tui.app import HemsApp, LiveUpdate
from tui.screens import AlertsScreen, CircuitsScreen, HistoryScreen, NowScreen, PlanScreen
from tui.source import EventRow
from tui.widgets import BarChart, Timeline

DATA = Path(__file__).parent / "data"


def make_app(source: CannedSource, clock: ManualClock) -> HemsApp:
    # timers far apart: the tests trigger reads themselves, so nothing races the assertions
    return HemsApp(source, clock, poll_seconds=3600, stored_seconds=3600)


async def test_now_shows_the_numbers_it_was_fed(source: CannedSource, clock: ManualClock) -> None:
    app = make_app(source, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, NowScreen)
        text = screen_text(app)
        assert "hems · home › Now" in text
        assert "Thu 15 Jan 13:00:05" in text  # the frozen clock, in the site's time zone
        assert "live" in text and "no data" not in text
        assert "Grid import 2.35 kW" in text
        assert "Grid export 0.00 kW" in text
        assert "PV 1.20 kW" in text
        assert "House load 3.54 kW" in text or "House load 3.55 kW" in text
        assert "dishwasher" in text
        assert "1.23 /kWh" in text and "HIGH" in text and "export 0.46" in text
        assert "Hour 13:00" in text and "0.04 kWh so far" in text
        assert "4.60 kW / step ≤ 5 kW" in text and "92 % !" in text
        assert "12.3/25 A 49%" in text and "8.1/25 A 32%" in text
        assert "23.4/25 A 94%!" in text  # near the main fuse: marked, not only coloured
        assert app.screen.query_one("#fuse").border_title == "Main fuse 25 A"
        assert "12:58 WARNING" in text and "Heat pump at 94 % of its 20 A breaker" in text
        assert "Next dishwasher at 22:00" in text  # from the stored plan


async def test_keys_switch_modes_and_the_footer_names_them(source: CannedSource, clock: ManualClock) -> None:
    app = make_app(source, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        footer = [key.description for key in app.screen.query(FooterKey)]
        for name in ("Now", "Circuits", "Plan", "History", "Alerts", "Quit"):
            assert name in footer
        for key, screen in (
            ("c", CircuitsScreen),
            ("p", PlanScreen),
            ("h", HistoryScreen),
            ("a", AlertsScreen),
            ("n", NowScreen),
            ("3", PlanScreen),
        ):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, screen)
            assert f"› {screen.TITLE}" in screen_text(app)


async def test_circuits_show_current_against_breaker_power_and_today(
    source: CannedSource, clock: ManualClock
) -> None:
    app = make_app(source, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("c")
        await settle(pilot)
        text = screen_text(app)
        # 400 W since local midnight (13 h) = 5.20 kWh; the EV charger has no stored series: unknown
        assert "Kitchen" in text and "9.8/16 A 61% 2.10 kW 5.20 kWh" in text
        assert "18.7/20 A 94%! 1.42 kW 19.50 kWh" in text
        assert "0.0/32 A 0% 0.00 kW —" in text


async def test_plan_shows_the_runs_on_a_time_axis_and_why(source: CannedSource, clock: ManualClock) -> None:
    app = make_app(source, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("p")
        await settle(pilot)
        text = screen_text(app)
        assert "Thu 15 Jan 00:00–23:45 optimal" in text
        assert "cost 41.27 (energy 29.27, capacity 12.00)" in text
        timeline = plain(app.screen.query_one(Timeline)).splitlines()
        rows = {line.split()[0]: line for line in timeline[1:-1]}
        assert {"price", "PV", "grid", "dishwasher"} <= set(rows)
        assert rows["dishwasher"].rstrip().endswith("███··")  # 22:00–23:00 on a 65-column axis
        assert "start 22:00 1.0 kWh cheapest 1 h window before 00:00" in text
        assert "↑ now" in text


async def test_history_day_week_month_and_moving_back(source: CannedSource, clock: ManualClock) -> None:
    app = make_app(source, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("h")
        await settle(pilot)
        text = screen_text(app)
        assert "Day · Thu 15 Jan 2026" in text
        # 13 h since midnight at 1000 W import, 200 W export, 500 W PV; price 1.5 in, 0.5 out
        assert "13.00 kWh" in text and "2.60 kWh" in text and "6.50 kWh" in text
        assert "18.20" in text  # 13 × 1.5 − 2.6 × 0.5
        assert "Heat pump 19.50 kWh" in text
        await pilot.press("v")
        await settle(pilot)
        assert "Week · week 03, 12 Jan – 19 Jan 2026" in screen_text(app)
        assert "85.00 kWh" in screen_text(app)  # Mon–Wed + 13 h of Thursday
        await pilot.press("left")
        await settle(pilot)
        assert "week 02, 05 Jan – 12 Jan 2026" in screen_text(app)
        assert "168.00 kWh" in screen_text(app)
        await pilot.press("right", "right")  # never into the future
        await settle(pilot)
        assert "week 03" in screen_text(app)
        await pilot.press("v")
        await settle(pilot)
        assert "Month · January 2026" in screen_text(app)
        assert "349.00 kWh" in screen_text(app)  # 14 days + 13 h
        await pilot.press("s")
        await settle(pilot)
        assert "grid export per day" in screen_text(app)
        await pilot.press("s")
        await settle(pilot)
        assert "PV production per day" in screen_text(app)


async def test_alerts_log_newest_first(source: CannedSource, clock: ManualClock) -> None:
    app = make_app(source, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 2
        first = [str(c) for c in table.get_row_at(0)]
        assert first[0] == "12:58:10" and "→ info" in first[1] and "Paused EV charger" in first[2]
        assert "! warning" in str(table.get_row_at(1)[1])
        assert "Heat pump at 94 %" in screen_text(app)


async def test_daemon_gone_then_back(source: CannedSource, clock: ManualClock) -> None:
    app = make_app(source, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "live" in screen_text(app)
        source.state = None  # the state file is gone
        clock.advance(60)
        app.poll_live()
        await settle(pilot)
        text = screen_text(app)
        assert "no data since 13:00:05" in text
        assert "Grid import 2.35 kW" in text  # the last numbers stay, marked as old
        await pilot.press("c")  # still responsive
        await settle(pilot)
        assert isinstance(app.screen, CircuitsScreen) and "no data since" in screen_text(app)
        source.state = state_doc(clock.now())  # the daemon is back
        app.poll_live()
        await settle(pilot)
        assert "no data" not in screen_text(app) and "live" in screen_text(app)


async def test_a_state_file_that_stops_changing_goes_stale(source: CannedSource, clock: ManualClock) -> None:
    app = make_app(source, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        clock.advance(25)  # within three 10-s cycles: still live
        app.poll_live()
        await settle(pilot)
        assert "no data" not in screen_text(app)
        clock.advance(10)
        app.poll_live()
        await settle(pilot)
        assert "no data since 13:00:05" in screen_text(app)


async def test_missing_keys_show_a_dash_never_a_crash(source: CannedSource, clock: ManualClock) -> None:
    source.state = {"time": clock.now().isoformat(), "grid": None, "circuits": {"x": {"p_w": "bad"}}}
    app = make_app(source, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        for key in ("n", "c", "p", "h", "a"):
            await pilot.press(key)
            await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        text = screen_text(app)
        assert "Grid import —" in text and "Price —" in text and "Capacity hour —" in text
        assert "No active alerts." in text and text.count("—/— A —") == 3
        assert app.screen.query_one("#fuse").border_title == "Main fuse"


async def test_database_unavailable_is_said_and_live_data_still_flows(
    source: CannedSource, clock: ManualClock
) -> None:
    source.db_ok = False
    app = make_app(source, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("p")
        await settle(pilot)
        assert "No plan: test.db: database is locked" in screen_text(app)
        await pilot.press("h")
        await settle(pilot)
        assert "test.db: database is locked" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert "Grid import 2.35 kW" in screen_text(app)
        source.db_ok = True
        app.poll_stored()
        await pilot.press("p")
        await settle(pilot)
        assert "optimal" in screen_text(app)


async def test_live_reads_never_pile_up_and_updates_coalesce(
    source: CannedSource, clock: ManualClock
) -> None:
    assert LiveUpdate(None).can_replace(LiveUpdate(None))
    app = make_app(source, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = source.reads
        for _ in range(20):  # a burst of ticks while a read is in flight starts at most one more
            app.poll_live()
        await settle(pilot)
        assert 1 <= source.reads - before <= 20
        assert sum(1 for w in app.workers if w.group == "live" and not w.is_finished) == 0
        clock.advance(timedelta(seconds=1).total_seconds())


async def test_grid_trend_grows_with_each_new_cycle(source: CannedSource, clock: ManualClock) -> None:
    app = make_app(source, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "Grid trend —" in screen_text(app)
        for watts in (0.0, 4000.0, 8000.0):
            clock.advance(10)
            doc = state_doc(clock.now())
            doc["grid"]["p_import_w"] = watts
            source.state = doc
            app.poll_live()
            await settle(pilot)
        app.poll_live()  # the same cycle read again adds nothing
        await settle(pilot)
        assert "Grid trend ▃▁▅█" in screen_text(app)  # 2.3, 0, 4, 8 kW
        assert len(app.data.trend) == 4


async def test_a_tall_terminal_also_shows_todays_chart(source: CannedSource, clock: ManualClock) -> None:
    app = make_app(source, clock)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        chart = app.screen.query_one("#today", BarChart)
        assert chart.display and chart.region.height > 0
        assert chart.values[:13] == pytest.approx([1.0] * 13)  # 1000 W in each hour so far
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert app.screen.query_one("#today").region.height == 0


async def test_plan_as_the_control_loop_stores_it(source: CannedSource, clock: ManualClock) -> None:
    """A real optimiser output (its explanation at the top level) wrapped in the control record."""
    source.docs["plan"] = json.loads((DATA / "control_plan_summer_pv.json").read_text())
    clock.set(datetime(2026, 6, 20, 7, 0, tzinfo=UTC))
    source.state = state_doc(clock.now())
    app = make_app(source, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("p")
        await settle(pilot)
        text = screen_text(app)
        assert "Sat 20 Jun 00:00–23:45 optimal planned 07:00 cost -18.63" in text
        assert "(energy -18.63, capacity 0.00)" in text
        assert "washing_machine start 11:30" in text
        assert "costs -0.03 — the cheapest start given the rest of the plan" in text
        assert "ev start" in text and "12.00 kWh at a mean import price of 0.247" in text
        rows = [line.split()[0] for line in plain(app.screen.query_one(Timeline)).splitlines()[1:-1]]
        assert rows == ["grid", "washing_m…", "ev", "battery"]  # no price or PV in the record: no empty rows
        battery = plain(app.screen.query_one(Timeline)).splitlines()[-2]
        assert "▲" in battery and "▼" in battery


async def test_history_shows_the_stored_bill_and_pv_forecast(
    source: CannedSource, clock: ManualClock
) -> None:
    source.docs["report.day.2026-01-14"] = {
        "cost": {
            "currency": "NOK",
            "energy": 10.5,
            "capacity": 4.2,
            "fixed": 1.1,
            "total": 15.8,
            "left_out": ["spot price (none known for 2026-01-14)"],
        }
    }
    day = datetime(2026, 1, 13, 23, 0, tzinfo=UTC)  # local midnight of the 14th
    source.docs["forecast.pv.2026-01-14"] = {
        "slots": [{"start": (day + timedelta(minutes=15 * i)).isoformat(), "pv_w": 400.0} for i in range(96)]
    }
    app = make_app(source, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("h", "left")
        await settle(pilot)
        text = screen_text(app)
        assert "Day · Wed 14 Jan 2026" in text
        assert "Cost 15.80 NOK (energy 10.50, capacity 4.20, fixed 1.10)" in text
        assert "without spot price" in text  # the stored bill says what it leaves out (#14 item 9)
        assert "PV fc/act 9.6 / 12.0 kWh" in text  # 400 W forecast vs 500 W measured, 24 h
        await pilot.press("left")  # the 13th: no stored report, only the stored prices
        await settle(pilot)
        assert "energy only" in screen_text(app)


async def test_event_kinds_of_the_control_loop_are_marked(source: CannedSource, clock: ManualClock) -> None:
    source.event_log = [
        EventRow(NOW - timedelta(minutes=5), "alert.breaker", "warning", "Kitchen at 95 %"),
        EventRow(NOW - timedelta(minutes=4), "control.shed", "info", "load shedding: water heater"),
        EventRow(NOW - timedelta(minutes=3), "mqtt.rejected", "warning", "request from ev rejected"),
    ]
    app = make_app(source, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        marks = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert marks == ["· warning", "→ info", "! warning"]


async def test_a_background_job_runs_while_the_dashboard_is_up(
    source: CannedSource, clock: ManualClock
) -> None:
    """`hems demo`: the daemon runs in a thread beside the dashboard and stops when it closes."""
    seen: list[str] = []

    def daemon(stop: threading.Event) -> None:
        seen.append("started")
        stop.wait(10)
        seen.append("stopped" if stop.is_set() else "timed out")

    app = HemsApp(source, clock, poll_seconds=3600, stored_seconds=3600, background=daemon)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.background_thread is not None and app.background_thread.is_alive()
        await pilot.press("q")
    app.background_thread.join(5)
    assert seen == ["started", "stopped"]


async def test_a_failing_background_job_is_said_not_hidden(source: CannedSource, clock: ManualClock) -> None:
    def daemon(stop: threading.Event) -> None:
        raise RuntimeError("simulated meter exploded")

    app = HemsApp(source, clock, poll_seconds=3600, stored_seconds=3600, background=daemon)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        assert app.background_thread is not None
        app.background_thread.join(5)
        await settle(pilot)
        assert any("simulated meter exploded" in str(n.message) for n in app._notifications)
    assert isinstance(app.background_error, RuntimeError)


async def test_history_of_the_running_period_keeps_up(source: CannedSource, clock: ManualClock) -> None:
    app = make_app(source, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("h")
        await settle(pilot)
        assert "Imported 13.00 kWh" in screen_text(app)
        clock.advance(3600)  # an hour later the stored read brings the new hour along
        app.poll_stored()
        await settle(pilot)
        assert "Imported 14.00 kWh" in screen_text(app)


async def test_help_explains_keys_and_symbols(source: CannedSource, clock: ManualClock) -> None:
    app = make_app(source, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        text = screen_text(app)
        assert "Keys" in text and "at 90 % of it or more" in text and "not known" in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, NowScreen)
        await pilot.press("c")  # the mode keys work again
        await settle(pilot)
        assert isinstance(app.screen, CircuitsScreen)


async def test_loads_the_box_paused_are_named_on_now(source: CannedSource, clock: ManualClock) -> None:
    assert source.state is not None
    source.state["control"] = {"shed": ["water-heater", "ev"], "next_start": None}
    app = make_app(source, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "→ paused (load shedding): water-heater, ev" in screen_text(app)


async def test_a_long_device_error_takes_one_line_of_the_alerts_panel(
    source: CannedSource, clock: ManualClock
) -> None:
    # At 80 x 24 a device error of 150 characters wrapped over the whole "Active now" panel and
    # hid the other alerts: each alert is one line there (cut with an ellipsis); the log keeps it all.
    reason = (
        "meter on /dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10KB9Q2-if00-port0: cannot open the port: "
        "No such file or directory (retrying at 2026-01-15T12:00:35+00:00)"
    )
    state = state_doc(clock.now())
    state["errors"] = {"grid": reason}
    state["alerts"].insert(
        0,
        {
            "time": "2026-01-15T11:59:00+00:00",
            "level": "warning",
            "kind": "device",
            "message": f"device grid lost: {reason}",
        },
    )
    source.state = state
    app = make_app(source, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        for key, panel, lines in (("a", "#alerts-active", 2), ("n", "#alerts", 3)):
            await pilot.press(key)
            await settle(pilot)
            widget = app.screen.query_one(panel)
            shown = widget.render_lines(widget.region.reset_offset.shrink(widget.styles.gutter))
            text = ["".join(seg.text for seg in strip).rstrip() for strip in shown]
            used = [t for t in text if t.strip()]
            assert len(used) == lines, text
            assert "device grid lost" in used[0] and used[0].endswith("…")
            assert any("Heat pump at 94 %" in t for t in used)


async def test_without_live_data_history_knows_the_circuits_and_jumps_to_a_date(
    source: CannedSource, clock: ManualClock
) -> None:
    from datetime import date

    source.state = None  # `hems tui --db FILE`: no daemon, only its database
    known = [("kitchen", "kitchen"), ("heatpump", "heatpump")]
    app = HemsApp(
        source, clock, poll_seconds=3600, stored_seconds=3600, timezone="Europe/Oslo",
        circuits=known, start_date=date(2026, 1, 10),
    )  # fmt: skip
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        text = screen_text(app)
        assert "Sat 10 Jan 2026" in text and "no circuits" not in text
        assert "heatpump" in text and "kitchen" in text
        await pilot.press("g")  # go to a date
        await settle(pilot)
        for key in "2026-01-03":
            await pilot.press(key)
        await pilot.press("enter")
        await settle(pilot)
        assert app.data.anchor == date(2026, 1, 3) and "Sat 03 Jan 2026" in screen_text(app)
        await pilot.press("g")
        await settle(pilot)
        for key in "soon":
            await pilot.press(key)
        await pilot.press("enter")
        await settle(pilot)
        assert app.data.anchor == date(2026, 1, 3)  # a date that is no date changes nothing ...
        assert "expected a date YYYY-MM-DD" in screen_text(app)  # ... and says why
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
