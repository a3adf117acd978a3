"""The household's terminal dashboard (Textual). A separate process from the daemon: it reads the
live state file and the database, never device drivers or the optimiser."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from hems.clock import Clock
    from tui.app import HemsApp
    from tui.source import DataSource


def run_dashboard(
    source: DataSource,
    clock: Clock | None = None,
    *,
    background: Callable[[threading.Event], object] | None = None,
    join_seconds: float = 30.0,
    **options: Any,
) -> None:
    """Run the dashboard in this terminal until the user quits (blocking).

    ``background(stop)`` runs in its own thread meanwhile (`hems demo`: the daemon); ``stop`` is set
    when the dashboard closes, then the thread is given ``join_seconds`` to finish and an exception
    it raised is re-raised here. ``options`` go to `tui.app.HemsApp` (``timezone``,
    ``poll_seconds``, ``stale_after`` ...).
    """
    from tui.app import HemsApp

    run_app(HemsApp(source, clock, background=background, **options), join_seconds)


def run_app(app: HemsApp, join_seconds: float = 30.0) -> None:
    """Run a built dashboard until the user quits, then stop and join its background thread and
    re-raise what it raised."""
    try:
        app.run()
    finally:
        app.background_stop.set()
        if app.background_thread is not None:
            app.background_thread.join(join_seconds)
    if app.background_error is not None:
        raise app.background_error
