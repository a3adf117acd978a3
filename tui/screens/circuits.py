"""Circuits: each fuse circuit's current against its breaker rating, its power and today's energy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.model import DASH
from tui.screens.base import HemsScreen, put
from tui.widgets import Gauge

if TYPE_CHECKING:
    from tui.app import Dashboard

NAME_W = 14  #: circuit names get at least this many cells ...
NAME_MAX = 24  #: ... and at most this many (longer ones are cut with "…")


class CircuitsScreen(HemsScreen):
    TITLE = "Circuits"
    DEFAULT_CSS = """
    CircuitsScreen #circuits { border: round $primary; padding: 0 1; height: 1fr; }
    CircuitsScreen #circuit-head { height: 1; color: $text-muted; }
    CircuitsScreen #circuit-errors { height: auto; }
    """

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="circuits"):
            yield Static(id="circuit-head")
            yield Static(id="circuit-errors")

    def on_mount(self) -> None:
        self.query_one("#circuits").border_title = "Circuits: current vs breaker"
        self._ids: tuple[str, ...] = ()

    def show_body(self, data: Dashboard) -> None:
        live = data.live
        circuits = live.circuits if live else ()
        ids = tuple(c.id for c in circuits)
        box = self.query_one("#circuits", VerticalScroll)
        name_w = max([NAME_W] + [min(len(c.name), NAME_MAX) for c in circuits])
        if ids != self._ids:  # the set of circuits changed (first data, new config): rebuild rows
            self.query(".circuit-row").remove()
            rows = [Gauge(c.name, label_width=name_w, classes="circuit-row") for c in circuits]
            box.mount_all(rows, before="#circuit-errors")
            self._ids = ids
        right = f" {'now/max A':>11} {'load':>5}  {'power':>8} {'today':>9}"
        left = f"{'circuit':<{name_w}} breaker"
        width = box.content_size.width
        put(
            self.query_one("#circuit-head", Static),
            Text(left.ljust(max(len(left) + 1, width - len(right))) + right)
            if circuits
            else Text("No circuit meters in the live state." if live else DASH),
        )
        for row, c in zip(self.query(".circuit-row").results(Gauge), circuits, strict=False):
            today = data.today_kwh.get(c.id)
            power = DASH if c.p_w is None else f"{c.p_w / 1000:.2f} kW"
            energy = DASH if today is None else f"{today:.2f} kWh"
            row.show(c.i_a, c.breaker_a, f" {power:>8} {energy:>9}", label=c.name)
        problems = Text()
        for c in circuits:
            if c.error:
                problems.append(f"? {c.name}: not read this cycle ({c.error})\n", style="yellow")
        put(self.query_one("#circuit-errors", Static), problems)
