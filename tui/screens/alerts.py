"""Alerts: the log of warnings and what the box did about them (newest first)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from tui.model import fmt_since
from tui.screens.base import HemsScreen, put

if TYPE_CHECKING:
    from tui.app import Dashboard

LEVEL_STYLE = {"critical": "bold red", "error": "bold red", "warning": "yellow"}


def event_mark(kind: str) -> str:
    """ "!" a warning (kinds "alert", "alert.breaker" ...), "→" what the box did ("action",
    "control.shed" ...), "·" anything else."""
    if kind == "alert" or kind.startswith("alert."):
        return "!"
    if kind == "action" or kind.startswith(("action.", "control.")):
        return "→"
    return "·"


class AlertsScreen(HemsScreen):
    TITLE = "Alerts"
    DEFAULT_CSS = """
    AlertsScreen #alerts-active {
        height: auto; max-height: 6; border: round $primary; padding: 0 1;
        text-wrap: nowrap; text-overflow: ellipsis;  /* one line per alert; the log below has it all */
    }
    AlertsScreen #alerts-log { height: 1fr; border: round $primary; }
    """

    def compose_body(self) -> ComposeResult:
        yield Static(id="alerts-active")
        yield DataTable(id="alerts-log", cursor_type="row", zebra_stripes=False)

    def on_mount(self) -> None:
        self.query_one("#alerts-active").border_title = "Active now"
        table = self.query_one("#alerts-log", DataTable)
        table.border_title = "Log: warnings (!) and actions (→), last 7 days"
        table.add_columns("when", "level", "what")
        self._shown: tuple[object, ...] = ()

    def show_body(self, data: Dashboard) -> None:
        tz, now = self.hems.tz, self.hems.now()
        active = Text()
        alerts = data.live.alerts if data.live else ()
        for a in alerts:
            active.append(f"! {a.level.upper():<8} ", style=LEVEL_STYLE.get(a.level, ""))
            active.append(f"{a.message}\n")
        if not alerts:
            active.append("No active alerts.", style="dim")
        put(self.query_one("#alerts-active", Static), active)
        table = self.query_one("#alerts-log", DataTable)
        if data.events_error:
            table.border_subtitle = f"log unavailable: {data.events_error}"
        else:
            table.border_subtitle = f"{len(data.events)} entries"
        shown = tuple(data.events)
        if shown == self._shown:
            return  # unchanged: keep the cursor where the user put it
        self._shown = shown
        table.clear()
        for e in reversed(data.events):
            mark = event_mark(e.kind)
            table.add_row(
                fmt_since(e.time, now, tz),
                Text(f"{mark} {e.level}", style=LEVEL_STYLE.get(e.level, "")),
                e.message,
            )
