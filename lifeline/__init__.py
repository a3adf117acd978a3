"""Worker processes end with the process that started them, even after a ``kill -9``.

The box starts helper processes (the PV simulation and forecast, the planner, the evaluator's
boxes) with multiprocessing's "spawn" context. A parent killed with SIGKILL cannot stop them, and
an orphaned worker keeps its memory (140 MB for pvlib) and multiprocessing's resource tracker alive
for ever. Pass `die_with_parent` as a pool's ``initializer`` (or call it first in a worker's
target): a daemon thread in the worker ends it within a second of its parent going away.

Standard library only, importing nothing of the project, so every part may use it.
"""

from __future__ import annotations

import os
import threading
import time

#: how often a worker looks for its parent [s]
POLL_S = 0.5


def die_with_parent() -> None:
    """In a worker process: exit as soon as the parent process is gone."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            if os.getppid() != parent:  # re-parented: the parent died
                os._exit(1)
            time.sleep(POLL_S)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()
