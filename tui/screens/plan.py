"""Plan: the day-ahead plan on a time axis, and why each start was chosen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.model import DASH, fmt_clock, fmt_money
from tui.screens.base import HemsScreen, put
from tui.widgets import Timeline

if TYPE_CHECKING:
    from datetime import tzinfo

    from tui.app import Dashboard
    from tui.plan import Plan


def summary_text(plan: Plan | None, error: str | None, tz: tzinfo) -> Text:
    if plan is None:
        return Text(f"No plan: {error}" if error else "No plan stored yet.", style="dim")
    first, last = plan.slots[0], plan.slots[-1]
    out = Text()
    out.append(f"{first.astimezone(tz):%a %d %b %H:%M}–{fmt_clock(last, tz)}  ", style="bold")
    out.append(f"{plan.status or DASH}  ", style="dim")
    if plan.planned_at is not None:
        out.append(f"planned {fmt_clock(plan.planned_at, tz)}  ", style="dim")
    out.append(f"cost {fmt_money(plan.objective)}", style="bold")
    out.append(f" (energy {fmt_money(plan.energy_cost)}, capacity {fmt_money(plan.capacity_cost)})")
    return out


def runs_text(plan: Plan | None, tz: tzinfo) -> Text:
    out = Text()
    if plan is None:
        return out
    for run in plan.runs:
        on = [i for i, p in enumerate(run.power_kw) if p > 0]
        start = run.start or (plan.slots[on[0]] if on else None)
        kwh = sum(run.power_kw) * plan.slot_hours
        out.append(f"{run.id:<14} ", style="bold")
        out.append(f"start {fmt_clock(start, tz)}  {kwh:5.1f} kWh  ")
        out.append(f"{run.explanation or 'no explanation given'}\n", style="" if run.explanation else "dim")
    if not plan.runs:
        out.append("Nothing to schedule.\n", style="dim")
    for note in plan.notes:
        out.append(f"{note}\n", style="dim")
    return out


class PlanScreen(HemsScreen):
    TITLE = "Plan"
    DEFAULT_CSS = """
    PlanScreen #plan-box { border: round $primary; padding: 0 1; height: auto; max-height: 60%; }
    PlanScreen #plan-summary { height: auto; }
    PlanScreen #plan-why { border: round $primary; padding: 0 1; height: 1fr; }
    """

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="plan-box"):
            yield Static(id="plan-summary")
            yield Timeline(self.hems.tz, id="timeline")
        with VerticalScroll(id="plan-why"):
            yield Static(id="plan-runs")

    def on_mount(self) -> None:
        self.query_one("#plan-box").border_title = "Day-ahead plan"
        self.query_one("#plan-why").border_title = "Why each start was chosen"

    def show_body(self, data: Dashboard) -> None:
        tz = self.hems.tz
        put(self.query_one("#plan-summary", Static), summary_text(data.plan, data.plan_error, tz))
        timeline = self.query_one(Timeline)
        timeline.tz = tz
        now = self.hems.now()
        timeline.now = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
        timeline.plan = data.plan
        timeline.display = data.plan is not None
        put(self.query_one("#plan-runs", Static), runs_text(data.plan, tz))
