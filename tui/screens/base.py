"""What every screen shares: the status bar (site, mode, clock, live or "no data since ...") and the
footer of mode keys. A screen redraws from the app's `Dashboard` in `show`; it never reads a source."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from tui.model import fmt_since

if TYPE_CHECKING:
    from tui.app import Dashboard, HemsApp

PULSE = "◐◓◑◒"


def put(widget: Static, content: Text | str) -> None:
    """Show ``content`` unless it is already shown: a redraw every second costs nothing when the
    numbers did not change (no layout, no repaint)."""
    if widget.content != content:
        widget.update(content)


class StatusBar(Widget):
    """`` hems · home › Now            14:03:21  ◐ live`` — or, reversed, ``no data since 14:01:10``."""

    DEFAULT_CSS = """
    StatusBar { height: 1; width: 1fr; background: $primary-background; }
    StatusBar.-stale { background: $error 40%; }
    """

    left: reactive[str] = reactive("")
    right: reactive[str] = reactive("")
    stale: reactive[bool] = reactive(False)

    def show(self, data: Dashboard, title: str, now: datetime, tz: tzinfo) -> None:
        site = data.live.site_id if data.live and data.live.site_id else ""
        self.left = f" hems{' · ' + site if site else ''} › {title}"
        clock = now.astimezone(tz).strftime("%a %d %b %H:%M:%S")
        if data.stale:
            since = fmt_since(data.last_seen, now, tz)
            state = "no data yet" if data.last_seen is None else f"no data since {since}"
            self.right = f"{clock}  ! {state} "
        else:
            self.right = f"{clock}  {PULSE[data.pulse % len(PULSE)]} live "
        self.stale = data.stale
        self.set_class(data.stale, "-stale")

    def render(self) -> Text:
        gap = max(1, self.size.width - len(self.left) - len(self.right))
        out = Text(self.left, style="bold")
        out.append(" " * gap)
        out.append(self.right, style="bold reverse" if self.stale else "bold")
        return out


class HemsScreen(Screen[None]):
    """A dashboard mode: status bar, body (``compose_body``), footer with the mode keys."""

    TITLE = ""

    @property
    def hems(self) -> HemsApp:
        return cast("HemsApp", self.app)

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield from self.compose_body()
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        self.show(self.hems.data)

    def show(self, data: Dashboard) -> None:
        """Redraw from ``data`` (called on every update while this screen is visible)."""
        self.query_one(StatusBar).show(data, self.TITLE, self.hems.now(), self.hems.tz)
        self.show_body(data)

    def show_body(self, data: Dashboard) -> None:
        pass
