"""Small, self-contained widgets: a gauge against a limit, a bar chart, and the plan's time axis.

Everything is drawn with block characters and words, so a monochrome terminal shows the same facts
as a colour one (colour only repeats what the glyphs already say: "!" marks a load near its limit).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo

from rich.text import Text
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from tui.model import DASH, fit
from tui.plan import Plan

EIGHTHS = " ▏▎▍▌▋▊▉█"
LEVELS = "▁▂▃▄▅▆▇█"
WARN, DANGER = 0.7, 0.9  #: fractions of the limit where a gauge turns yellow / red


def level_style(fraction: float | None) -> str:
    if fraction is None:
        return "dim"
    if fraction >= DANGER:
        return "bold red"
    return "yellow" if fraction >= WARN else "green"


def hbar(fraction: float, width: int) -> str:
    """A horizontal bar ``width`` cells wide filled to ``fraction`` (eighth-cell resolution)."""
    eighths = round(max(0.0, min(fraction, 1.0)) * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (EIGHTHS[part] if part else "")
    return bar + "░" * (width - len(bar))


def spark(values: Sequence[float | None], low: float, high: float) -> str:
    """One character per value, ``▁`` at ``low`` to ``█`` at ``high``; blank where unknown."""
    span = high - low or 1.0
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        else:
            out.append(LEVELS[max(0, min(7, round((v - low) / span * 7)))])
    return "".join(out)


class Gauge(Widget):
    """One line: ``label  ████████░░░░  12.3 / 16 A  77 %``; "!" at 90 % of the limit and above."""

    DEFAULT_CSS = """
    Gauge { height: 1; width: 1fr; }
    """

    label: reactive[str] = reactive("")
    """Left-hand name, e.g. "L1" or a circuit's name."""
    value: reactive[float | None] = reactive(None)
    """Measured value, in ``unit``; None when unknown."""
    limit: reactive[float | None] = reactive(None)
    """The limit the value is compared with (a fuse rating), same unit."""
    suffix: reactive[str] = reactive("")
    """Extra text after the percentage (power, energy)."""

    def __init__(self, label: str = "", *, unit: str = "A", label_width: int = 4, **kwargs: object):
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.unit = unit
        self.label_width = label_width
        self.set_reactive(Gauge.label, label)

    def show(self, value: float | None, limit: float | None, suffix: str = "", label: str | None = None):
        self.value, self.limit, self.suffix = value, limit, suffix
        if label is not None:
            self.label = label

    @property
    def fraction(self) -> float | None:
        if self.value is None or not self.limit:
            return None
        return abs(self.value) / self.limit

    def render(self) -> Text:
        frac = self.fraction
        val = DASH if self.value is None else f"{self.value:.1f}"
        lim = DASH if self.limit is None else f"{self.limit:g}"
        pct = "  —  " if frac is None else f"{frac * 100:4.0f}%"
        mark = "!" if frac is not None and frac >= DANGER else " "
        right = f" {f'{val}/{lim} {self.unit}':>11} {pct}{mark}{self.suffix}"
        name = fit(self.label, self.label_width)
        width = max(4, self.size.width - len(name) - len(right) - 1)
        out = Text(name + " ", style="bold")
        out.append(hbar(frac or 0.0, width), style=level_style(frac))
        out.append(right, style="bold red" if mark == "!" else "")
        return out


class BarChart(Widget):
    """Vertical bars of one series with a value axis on the left and labels below."""

    DEFAULT_CSS = """
    BarChart { height: 10; width: 1fr; }
    """

    values: reactive[tuple[float, ...]] = reactive(tuple)
    labels: reactive[tuple[str, ...]] = reactive(tuple)
    unit: reactive[str] = reactive("kWh")

    def render(self) -> Text:
        rows = max(2, self.size.height - 1)
        values = self.values
        if not values:
            return Text("no data for this period", style="dim")
        top = max(max(values), 1e-9)
        axis = max(len(f"{top:.1f}"), len(self.unit)) + 1
        col = max(1, min(4, (self.size.width - axis) // len(values)))
        bar_w = max(1, col - 1) if col > 1 else 1
        out = Text()
        for r in range(rows):
            level = rows - r  # rows from the top, in eighths
            head = f"{top:.1f}" if r == 0 else (self.unit if r == 1 else "")
            out.append(head.rjust(axis - 1) + "┤" if r == 0 else head.rjust(axis - 1) + "│", style="dim")
            for v in values:
                eighths = round(v / top * rows * 8)
                cell = eighths - (level - 1) * 8
                ch = "█" if cell >= 8 else (LEVELS[cell - 1] if cell > 0 else " ")
                out.append(ch * bar_w + " " * (col - bar_w), style="cyan")
            out.append("\n")
        line = " " * axis
        for i, label in enumerate(self.labels):
            pos = axis + i * col
            if label and pos >= len(line) and pos + len(label) <= self.size.width:
                line = line.ljust(pos) + label
        out.append(line, style="dim")
        return out


def _columns(n: int, width: int) -> list[range]:
    """Split ``n`` slots into at most ``width`` consecutive groups of near-equal size."""
    cols = max(1, min(n, width))
    return [range(i * n // cols, (i + 1) * n // cols) for i in range(cols)]


def _mean(values: Sequence[float | None], idx: range) -> float | None:
    known = [values[i] for i in idx if values[i] is not None]
    return sum(known) / len(known) if known else None  # type: ignore[arg-type]


class Timeline(Widget):
    """The day-ahead plan on one time axis: price, PV, each appliance's run, the battery, grid import."""

    DEFAULT_CSS = """
    Timeline { height: auto; width: 1fr; }
    """

    plan: reactive[Plan | None] = reactive(None, layout=True)
    now: reactive[datetime | None] = reactive(None)

    def __init__(self, tz: tzinfo, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.tz = tz

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        plan = self.plan
        if plan is None:
            return 1
        rows = sum(1 for s in (plan.price, plan.pv_kw, plan.import_kw) if any(v is not None for v in s))
        return 2 + rows + len(plan.runs) + (1 if plan.battery_kw is not None else 0)

    def render(self) -> Text:
        plan = self.plan
        if plan is None:
            return Text("no plan yet", style="dim")
        label_w = 11
        groups = _columns(len(plan.slots), self.size.width - label_w)
        out = Text()
        # axis: every ``step`` hours, the step chosen so that labels never touch
        starts = [g.start for g in groups]
        hours = len(plan.slots) * plan.slot_hours
        step = next((h for h in (1, 2, 3, 4, 6, 12) if h * len(groups) / max(hours, 1) >= 3), 24)
        axis = [" "] * (len(groups) + 2)
        for i, t in enumerate(plan.slots):
            local = t.astimezone(self.tz)
            if local.minute == 0 and local.hour % step == 0:
                c = bisect_right(starts, i) - 1
                if c + 2 <= len(groups) and axis[c] == " " and (c == 0 or axis[c - 1] == " "):
                    axis[c : c + 2] = list(f"{local.hour:02d}")
        axis = axis[: len(groups)]
        now_col = None
        if self.now is not None and plan.slots[0] <= self.now < plan.slots[-1] + timedelta(
            hours=plan.slot_hours
        ):
            now_col = bisect_right([plan.slots[g.start] for g in groups], self.now) - 1
        out.append(" " * label_w + "".join(axis) + "\n", style="dim")
        for label, values, style, from_zero in (
            ("price", plan.price, "magenta", False),
            ("PV", plan.pv_kw, "yellow", True),
            ("grid", plan.import_kw, "cyan", True),
        ):
            means = [_mean(values, g) for g in groups]
            known = [v for v in means if v is not None]
            if known:  # a series the plan does not carry gets no row
                lo = 0.0 if from_zero else min(known)
                self._row(out, label, spark(means, lo, max([*known, lo + 0.1])), now_col, style)
        for run in plan.runs:
            cells = "".join("█" if any(run.power_kw[i] > 0 for i in g) else "·" for g in groups)
            self._row(out, run.id, cells, now_col, "green")
        if plan.battery_kw is not None:
            bat = plan.battery_kw
            cells = "".join(
                "▲" if (m := _mean(bat, g) or 0.0) > 0.05 else ("▼" if m < -0.05 else "·") for g in groups
            )
            self._row(out, "battery", cells, now_col, "blue")
        marker = " " * label_w
        if now_col is not None:
            tag = "↑ now" if now_col + 5 <= len(groups) else "now ↑"
            marker += " " * (now_col if tag[0] == "↑" else now_col - 4) + tag
        out.append(marker, style="bold")
        return out

    @staticmethod
    def _row(out: Text, label: str, cells: str, now_col: int | None, style: str) -> None:
        out.append(fit(label, 10) + " ", style="bold")
        for i, ch in enumerate(cells):
            out.append(ch, style=f"{style} reverse" if i == now_col and ch != " " else style)
        out.append("\n")
