"""The "?" overlay: keys, and what the symbols on the screens mean."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]Keys[/b]
  n 1  Now        grid, PV, house load, main fuse, price, alerts
  c 2  Circuits   each circuit against its breaker, today's energy
  p 3  Plan       the day-ahead plan, and why each start was chosen
  h 4  History    v day/week/month   ←/→ earlier/later   s data   g go to a date
  a 5  Alerts     warnings and what the box did, last 7 days
  j 6  Jobs       researchers' jobs on this box   y approve   x refuse (a waiting job)
  q    quit       ? this help (Esc closes it)

[b]Symbols[/b]
  ████░░░   load against its limit;  !  at 90 % of it or more
  ◐ live    a fresh reading arrived
  ! no data since …   the daemon has gone quiet
  ▁▂▃▅▇█    low … high (price, PV, grid import)
  █ ·       an appliance runs / is off;  ↑ now
  ▲ ▼       battery charging / discharging
  →         an action the box took;  ?  a device not read
  —         not known (never the same as 0)
"""


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: auto; max-width: 90%; height: auto; max-height: 90%;
        border: round $primary; padding: 0 1; background: $surface;
    }
    HelpScreen Static { width: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "app.pop_screen", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "hems dashboard"
            yield Static(HELP.rstrip())
