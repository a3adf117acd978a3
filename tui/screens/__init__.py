"""One screen per dashboard mode."""

from tui.screens.alerts import AlertsScreen
from tui.screens.base import HemsScreen, StatusBar
from tui.screens.circuits import CircuitsScreen
from tui.screens.history import HistoryScreen
from tui.screens.jobs import JobsScreen
from tui.screens.now import NowScreen
from tui.screens.plan import PlanScreen

__all__ = [
    "AlertsScreen",
    "CircuitsScreen",
    "HemsScreen",
    "HistoryScreen",
    "JobsScreen",
    "NowScreen",
    "PlanScreen",
    "StatusBar",
]
