"""Plan in a separate process, so the daemon never imports pyomo and a slow solve never blocks it.

    from optimiser.worker import plan_in_subprocess
    result = plan_in_subprocess(scenario_dict, timeout=60.0)   # the JSON of `hems plan --json`

A fresh "spawn" process imports pyomo, solves and sends the result back through a pipe; on timeout
the process is terminated. Importing this module imports neither pyomo nor numpy.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

from lifeline import die_with_parent


class WorkerError(RuntimeError):
    """The planning process failed: a bad scenario, no plan, a crash or the timeout."""


def _child(conn: Connection, scenario: dict[str, Any], gap: float, time_limit: float) -> None:
    die_with_parent()
    try:
        from optimiser.plan import plan_scenario

        conn.send(("ok", plan_scenario(scenario, gap=gap, time_limit=time_limit, source="<daemon scenario>")))
    except Exception as exc:  # reported to the parent as one line, never lost
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _how(exitcode: int | None) -> str:
    """A dead worker's end in words: a negative exit code is the signal that killed it."""
    if exitcode is None:
        return "its end is unknown"
    if exitcode < 0:
        return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


def plan_in_subprocess(
    scenario: dict[str, Any], timeout: float = 60.0, gap: float = 1e-4, time_limit: float | None = None
) -> dict[str, Any]:
    """Solve `scenario` (the TOML structure as a dict) in a spawned process within `timeout` [s].

    The solver's own limit `time_limit` [s] defaults to 80 % of `timeout`, so a hard case returns its
    best plan (status "time_limit") before the process has to be killed. Raises `WorkerError`.
    """
    limit = 0.8 * timeout if time_limit is None else time_limit
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, scenario, gap, limit), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise WorkerError(f"planning took longer than {timeout} s; the worker was stopped")
        kind, payload = parent.recv()
    except EOFError:
        proc.join(5.0)  # reaped, so its exit code is known
        raise WorkerError(f"the planning process died ({_how(proc.exitcode)})") from None
    finally:
        parent.close()
        proc.join(1.0)
        if proc.is_alive():
            proc.terminate()
            proc.join(5.0)
    if kind != "ok":
        raise WorkerError(str(payload))
    return dict(payload)
