"""Now: grid import/export, PV, house load, the main fuse per line, price band, capacity hour, alerts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from tui.model import DASH, Live, fmt_clock, fmt_kw, fmt_kwh, fmt_money
from tui.plan import next_start
from tui.screens.base import HemsScreen, put
from tui.widgets import BarChart, Gauge, hbar, level_style, spark

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime, tzinfo

    from tui.app import Dashboard

TALL = 34  #: terminal rows from which the Now screen also shows today's chart
BAND_STYLE = {"low": "bold green", "normal": "bold", "high": "bold red reverse"}


def trend_text(trend: Sequence[tuple[datetime, float | None]], width: int) -> Text:
    """The last ``width`` grid readings as a sparkline, scaled from 0 to the largest [kW]."""
    values = [v for _, v in trend][-width:]
    known = [v for v in values if v is not None]
    out = Text("Grid trend  ", style="dim")
    if len(known) < 2:
        return out.append(DASH)
    top = max(max(known), 1.0)
    out.append(spark(values, min(min(known), 0.0), top), style="cyan")
    return out


def power_text(live: Live | None) -> Text:
    out = Text()
    rows = [
        ("Grid import", fmt_kw(live.import_w) if live else DASH),
        ("Grid export", fmt_kw(live.export_w) if live else DASH),
        ("PV", fmt_kw(live.pv_w) if live else DASH),
        ("House load", fmt_kw(live.load_w) if live else DASH),
    ]
    for name, value in rows:
        out.append(f"{name:<12}", style="dim")
        out.append(f"{value:>10}\n", style="bold")
    running = [a.id for a in live.appliances if a.running] if live else []
    out.append("Running     ", style="dim")
    out.append(", ".join(running) if running else DASH)
    return out


def tariff_text(
    live: Live | None, tz: tzinfo, width: int, upcoming: tuple[str, datetime] | None = None
) -> Text:
    out = Text()
    price = live.price if live else None
    out.append("Price   ", style="dim")
    if price is None:
        out.append(f"{DASH}\n")
    else:
        out.append(f"{fmt_money(price.import_per_kwh)} /kWh ", style="bold")
        band = price.band or ""
        out.append(f" {band.upper() or DASH} ", style=BAND_STYLE.get(band, ""))
        out.append(f"  export {fmt_money(price.export_per_kwh)}\n", style="dim")
    cap = live.capacity if live else None
    if cap is None:
        out.append("Capacity hour ", style="dim")
        out.append(f"{DASH}\n\n")
        return out.append_text(next_text(upcoming, tz))
    out.append(f"Hour {fmt_clock(cap.hour_start, tz)}  ", style="dim")
    out.append(f"{fmt_kwh(cap.hour_kwh_so_far)} so far\n")
    step = DASH if cap.step_upper_kw is None else f"{cap.step_upper_kw:g} kW"
    proj = DASH if cap.projected_kw is None else f"{cap.projected_kw:.2f} kW"
    out.append("Projected ", style="dim")
    out.append(proj, style="bold")
    out.append(f" / step ≤ {step}\n")
    frac = None
    if cap.projected_kw is not None and cap.step_upper_kw:
        frac = cap.projected_kw / cap.step_upper_kw
    pct = DASH if frac is None else f"{frac * 100:.0f} %"
    mark = " !" if frac is not None and frac >= 0.9 else ""
    out.append(hbar(frac or 0.0, max(4, width - 9)), style=level_style(frac))
    out.append(f" {pct}{mark}", style="bold red" if mark else "")
    return out.append_text(next_text(upcoming, tz))


def next_text(upcoming: tuple[str, datetime] | None, tz: tzinfo) -> Text:
    """``Next    dishwasher at 22:00`` (the plan's next start), or nothing without a plan."""
    if upcoming is None:
        return Text()
    which, when = upcoming
    return Text.assemble("\n", ("Next    ", "dim"), (which, "bold"), f" at {fmt_clock(when, tz)}")


def alerts_text(data: Dashboard, tz: tzinfo) -> Text:
    live = data.live
    out = Text()  # one line per alert (CSS: nowrap): a long device error must not hide the rest
    items = list(live.alerts) if live else []
    errors = live.errors if live else {}
    shed = live.shed if live else ()
    if not items and not errors and not shed:
        out.append("No active alerts." if live else DASH, style="dim")
        return out
    for a in items:
        style = "bold red" if a.level in ("critical", "error") else "yellow" if a.level == "warning" else ""
        out.append(f"! {fmt_clock(a.time, tz)} {a.level.upper():<8}", style=style)
        out.append(f" {a.message}\n")
    if shed:  # what the box is doing about it
        out.append("→ paused (load shedding): ", style="bold")
        out.append(", ".join(shed) + "\n")
    for device, reason in errors.items():
        out.append(f"? {device}: ", style="yellow")
        out.append(f"{reason}\n")
    return out


class NowScreen(HemsScreen):
    TITLE = "Now"
    DEFAULT_CSS = """
    NowScreen #top { height: 8; }
    NowScreen .panel { border: round $primary; padding: 0 1; }
    NowScreen #power { width: 34; height: 8; }
    NowScreen #tariff { width: 1fr; height: 8; }
    NowScreen #today { height: 12; border: round $primary; display: none; }
    NowScreen.-tall #today { display: block; }
    NowScreen #fuse { height: 5; }
    NowScreen #alerts { height: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield Static(id="power", classes="panel")
            yield Static(id="tariff", classes="panel")
        with Vertical(id="fuse", classes="panel"):
            for line in ("L1", "L2", "L3"):
                yield Gauge(line, id=f"fuse-{line}")
        yield BarChart(id="today")
        yield Static(id="alerts", classes="panel")

    def on_mount(self) -> None:
        self.query_one("#power").border_title = "Power"
        self.query_one("#tariff").border_title = "Price · capacity hour · plan"
        self.query_one("#fuse").border_title = "Main fuse"
        self.query_one("#alerts").border_title = "Alerts"
        self.query_one("#today").border_title = "Today: grid import per hour"

    def on_resize(self) -> None:
        self.set_class(self.size.height >= TALL, "-tall")  # room for today's chart

    def show_body(self, data: Dashboard) -> None:
        live, tz = data.live, self.hems.tz
        power = self.query_one("#power", Static)
        put(
            power,
            power_text(live)
            .append("\n")
            .append_text(trend_text(data.trend, max(4, (power.content_size.width or 30) - 12))),
        )
        chart = self.query_one("#today", BarChart)
        if data.today is not None:
            chart.values = tuple(b.import_kwh for b in data.today.buckets)
            chart.labels = tuple(f"{b.start:%H}" if b.start.hour % 3 == 0 else "" for b in data.today.buckets)
        tariff = self.query_one("#tariff", Static)
        upcoming = next_start(data.plan, self.hems.now())
        put(tariff, tariff_text(live, tz, tariff.content_size.width or 30, upcoming))
        fuse = live.main_fuse_a if live else None
        self.query_one("#fuse").border_title = f"Main fuse {fuse:g} A" if fuse else "Main fuse"
        for lc in live.lines if live else ():
            self.query_one(f"#fuse-{lc.line}", Gauge).show(lc.i_a, lc.limit_a)
        put(self.query_one("#alerts", Static), alerts_text(data, tz))
