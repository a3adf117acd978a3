"""History and reports: a day, week or month of energy and cost, per circuit, PV forecast vs actual."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.model import DASH, fit, fmt_kwh, fmt_money
from tui.screens.base import HemsScreen, put
from tui.widgets import BarChart

if TYPE_CHECKING:
    from datetime import date

    from tui.app import Dashboard
    from tui.reports import History

SERIES = ("import", "export", "pv")
SERIES_NAME = {"import": "grid import", "export": "grid export", "pv": "PV production"}


def title_text(data: Dashboard, series: str) -> str:
    h = data.history
    if h is None:
        return f"{data.period}: loading…" if data.history_error is None else f"{data.period}: unavailable"
    if h.period == "day":
        span = f"{h.start:%a %d %b %Y}"
    elif h.period == "week":
        span = f"week {h.start:%V}, {h.start:%d %b} – {h.end:%d %b %Y}"
    else:
        span = f"{h.start:%B %Y}"
    per = "hour" if h.period == "day" else "day"
    return f"{h.period.capitalize()} · {span} · {SERIES_NAME[series]} per {per}"


def totals_text(h: History | None, error: str | None) -> Text:
    if h is None:
        return Text(error or "loading…", style="dim")
    out = Text()
    for name, value in (("Imported", h.import_kwh), ("Exported", h.export_kwh), ("PV", h.pv_kwh)):
        out.append(f"{name:<10}", style="dim")
        out.append(f"{fmt_kwh(value):>12}\n", style="bold")
    out.append(f"{'Cost':<10}", style="dim")
    if h.bill is not None and "total" in h.bill:  # the daemon's report: the tariff's own bill
        out.append(f"{fmt_money(h.bill['total']):>12} {h.currency or ''}", style="bold")
        parts = [f"{k} {fmt_money(h.bill[k])}" for k in ("energy", "capacity", "fixed") if k in h.bill]
        out.append(f"  ({', '.join(parts)})\n" if parts else "\n", style="dim")
        if h.left_out:  # the bill says what it could not price
            out.append(f"{'':<10}without {', '.join(h.left_out)}\n", style="dim")
    else:  # from the stored prices: the energy alone, no capacity step or fixed fees
        out.append(f"{fmt_money(h.cost):>12}", style="bold")
        out.append("  energy only\n" if h.cost is not None else "\n", style="dim")
    out.append(f"{'PV fc/act':<10}", style="dim")
    if h.pv_forecast_kwh is None or h.pv_actual_kwh is None:
        out.append(f"{DASH:>12}")
    else:
        out.append(f"{h.pv_forecast_kwh:.1f} / {h.pv_actual_kwh:.1f} kWh".rjust(12), style="bold")
    if h.comparison:  # a month against similar homes ([telemetry] comparison)
        out.append(f"\n{h.comparison}", style="italic")
    return out


def circuits_text(h: History | None) -> Text:
    out = Text()
    if h is None:
        return out
    # biggest consumers first; unknown ones last
    for _cid, name, kwh in sorted(h.circuits, key=lambda c: -1.0 if c[2] is None else c[2], reverse=True):
        out.append(fit(name, 20), style="dim")
        out.append(f"{fmt_kwh(kwh):>12}\n")
    if not h.circuits:
        out.append("no circuits", style="dim")
    return out


class HistoryScreen(HemsScreen):
    TITLE = "History"
    DEFAULT_CSS = """
    HistoryScreen #history-title { height: 1; padding: 0 1; text-style: bold; }
    HistoryScreen BarChart { height: 1fr; min-height: 6; border: round $primary; }
    HistoryScreen #history-bottom { height: 8; }
    HistoryScreen #history-totals { width: 1fr; height: 1fr; border: round $primary; padding: 0 1; }
    HistoryScreen #history-circuits { width: 1fr; height: 1fr; border: round $primary; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "period", "Period"),
        Binding("s", "series", "Data"),
        Binding("left", "shift(-1)", "Move", key_display="←→"),
        Binding("right", "shift(1)", "Later", show=False),
        Binding("g", "go_to", "Go to date"),
    ]

    series: str = "import"

    def compose_body(self) -> ComposeResult:
        yield Static(id="history-title")
        yield BarChart()
        with Horizontal(id="history-bottom"):
            yield Static(id="history-totals")
            with VerticalScroll(id="history-circuits", can_focus=False):
                yield Static(id="history-circuit-list")

    def on_mount(self) -> None:
        self.query_one("#history-totals").border_title = "Totals"
        self.query_one("#history-circuits").border_title = "Per circuit (largest first)"

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.hems.load_history()

    def action_period(self) -> None:
        self.hems.set_period()

    def action_shift(self, steps: int) -> None:
        self.hems.set_period(self.hems.data.period, steps)

    def action_go_to(self) -> None:
        def chosen(day: date | None) -> None:
            if day is not None:
                self.hems.go_to(day)

        self.app.push_screen(DateScreen(), chosen)

    def action_series(self) -> None:
        self.series = SERIES[(SERIES.index(self.series) + 1) % len(SERIES)]
        self.show(self.hems.data)

    def show_body(self, data: Dashboard) -> None:
        h = data.history
        put(self.query_one("#history-title", Static), title_text(data, self.series))
        chart = self.query_one(BarChart)
        if h is None:
            chart.values, chart.labels = (), ()
        else:
            index = SERIES.index(self.series)
            chart.values = tuple((b.import_kwh, b.export_kwh, b.pv_kwh)[index] for b in h.buckets)
            if h.period == "day":
                chart.labels = tuple(f"{b.start:%H}" if b.start.hour % 3 == 0 else "" for b in h.buckets)
            elif h.period == "week":
                chart.labels = tuple(f"{b.start:%a}"[:2] for b in h.buckets)
            else:
                chart.labels = tuple(f"{b.start.day}" if b.start.day % 5 == 1 else "" for b in h.buckets)
        put(self.query_one("#history-totals", Static), totals_text(h, data.history_error))
        put(self.query_one("#history-circuit-list", Static), circuits_text(h))


class DateScreen(ModalScreen["date | None"]):
    """``g`` on History: type a day (YYYY-MM-DD) to show the period holding it; Esc cancels."""

    DEFAULT_CSS = """
    DateScreen { align: center middle; }
    DateScreen > Vertical {
        width: 44; height: auto; border: round $primary; padding: 0 1; background: $surface;
    }
    DateScreen #date-why { height: auto; color: $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Go to the day (YYYY-MM-DD), Enter; Esc cancels")
            yield Input(placeholder="2026-01-15", id="date-input")
            yield Static(id="date-why")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from datetime import date

        try:
            day = date.fromisoformat(event.value.strip())
        except ValueError:
            self.query_one("#date-why", Static).update(f"expected a date YYYY-MM-DD, got {event.value!r}")
            return
        self.dismiss(day)

    def action_cancel(self) -> None:
        self.dismiss(None)
