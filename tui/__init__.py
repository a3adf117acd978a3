"""The household's terminal dashboard (Textual). A separate process from the daemon: it reads the
live state file and the database, never device drivers or the optimiser."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hems.clock import Clock
    from tui.source import DataSource


def run_dashboard(source: DataSource, clock: Clock | None = None, **options: Any) -> None:
    """Run the dashboard in this terminal until the user quits (blocking). ``options`` go to
    `tui.app.HemsApp` (``timezone``, ``poll_seconds``, ``stale_after`` ...)."""
    from tui.app import HemsApp

    HemsApp(source, clock, **options).run()
