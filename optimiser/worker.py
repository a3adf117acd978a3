"""Plan in a separate process, so the daemon never imports pyomo and a slow solve never blocks it.

    from optimiser.worker import PlanningWorker, plan_in_subprocess
    result = plan_in_subprocess(scenario_dict, timeout=60.0)   # a fresh process for one plan
    worker = PlanningWorker()                                  # a warm one, kept between plans
    result = worker.plan(scenario_dict, timeout=60.0)          # the JSON of `hems plan --json`

A "spawn" process imports pyomo and HiGHS, solves and sends the result back through a pipe. A fresh
process pays 0.7–0.9 s of imports for every plan; the daemon keeps one warm worker instead
(`PlanningWorker`): started ahead of the first plan, reused for every plan, and replaced when it
dies, overruns its timeout (it is killed) or has grown past a memory bound (it is stopped after the
plan that grew it). Importing this module imports neither pyomo nor numpy.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from lifeline import die_with_parent

#: a warm worker whose resident memory passes this after a plan is replaced by a fresh one [MB]
MAX_RSS_MB = 600.0


class WorkerError(RuntimeError):
    """The planning process failed: a bad scenario, no plan, a crash or the timeout."""


def _plan(scenario: dict[str, Any], gap: float, time_limit: float) -> tuple[str, Any]:
    try:
        from optimiser.plan import plan_scenario

        return ("ok", plan_scenario(scenario, gap=gap, time_limit=time_limit, source="<daemon scenario>"))
    except Exception as exc:  # reported to the parent as one line, never lost
        return ("error", f"{type(exc).__name__}: {exc}")


def _child(conn: Connection, scenario: dict[str, Any], gap: float, time_limit: float) -> None:
    die_with_parent()
    try:
        conn.send(_plan(scenario, gap, time_limit))
    finally:
        conn.close()


def _serve(conn: Connection) -> None:
    """The warm worker: import the planner once, then plan every request until the pipe closes."""
    die_with_parent()
    import optimiser.plan  # noqa: F401  (the imports are what a warm worker saves)

    try:
        while True:
            try:
                request = conn.recv()
            except EOFError:
                return
            if request is None:
                return
            conn.send(_plan(*request))
    finally:
        conn.close()


def _how(exitcode: int | None) -> str:
    """A dead worker's end in words: a negative exit code is the signal that killed it."""
    if exitcode is None:
        return "its end is unknown"
    if exitcode < 0:
        return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


def _limit(timeout: float, time_limit: float | None) -> float:
    """The solver's own limit: 80 % of the timeout unless given, so a hard case returns its best plan
    (status "time_limit") before the process has to be killed."""
    return 0.8 * timeout if time_limit is None else time_limit


def plan_in_subprocess(
    scenario: dict[str, Any], timeout: float = 60.0, gap: float = 1e-4, time_limit: float | None = None
) -> dict[str, Any]:
    """Solve `scenario` (the TOML structure as a dict) in a fresh spawned process within `timeout` [s].

    The solver's own limit `time_limit` [s] defaults to 80 % of `timeout`. Raises `WorkerError`.
    """
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    args = (child, scenario, gap, _limit(timeout, time_limit))
    proc = ctx.Process(target=_child, args=args, daemon=True)
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


def rss_mb(pid: int) -> float | None:
    """A process's resident memory [MB] (Linux /proc), or None when it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class PlanningWorker:
    """One long-lived planning process, used by one plan at a time (thread-safe)."""

    def __init__(self, max_rss_mb: float = MAX_RSS_MB) -> None:
        self.max_rss_mb = max_rss_mb
        self.started = 0  #: processes started so far (a test and the bench read it)
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Connection | None = None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else int(self._proc.pid)

    def start(self) -> None:
        """Start the process now (its imports run while the caller goes on), unless it runs."""
        with self._lock:
            self._ensure()

    def _ensure(self) -> Connection:
        if self._proc is not None and self._proc.is_alive() and self._conn is not None:
            return self._conn
        self._stop()
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=_serve, args=(child,), daemon=True, name="hems-planner")
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        self.started += 1
        return parent

    def plan(
        self,
        scenario: dict[str, Any],
        timeout: float = 60.0,
        gap: float = 1e-4,
        time_limit: float | None = None,
    ) -> dict[str, Any]:
        """Like `plan_in_subprocess`, in the warm process (started first if there is none)."""
        with self._lock:
            conn = self._ensure()
            proc = self._proc
            try:
                conn.send((scenario, gap, _limit(timeout, time_limit)))
                if not conn.poll(timeout):
                    self._kill()
                    raise WorkerError(f"planning took longer than {timeout} s; the worker was stopped")
                kind, payload = conn.recv()
            except (EOFError, BrokenPipeError, ConnectionResetError):
                proc.join(5.0)  # reaped, so its exit code is known
                how = _how(proc.exitcode)
                self._stop()
                raise WorkerError(f"the planning process died ({how})") from None
            size = rss_mb(proc.pid)
            if size is not None and size > self.max_rss_mb:
                self._stop()  # grown past its bound: the next plan gets a fresh process
        if kind != "ok":
            raise WorkerError(str(payload))
        return dict(payload)

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _kill(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5.0)
        self._stop()

    def _stop(self) -> None:
        """Ask the process to end (it finishes no plan: none is running) and forget it."""
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.send(None)
            conn.close()
        if proc is not None:
            proc.join(2.0)
            if proc.is_alive():
                proc.kill()
                proc.join(5.0)


_shared: PlanningWorker | None = None
_shared_lock = threading.Lock()


def shared_worker() -> PlanningWorker:
    """The process's one warm worker (the daemon's planner), stopped when the process exits."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PlanningWorker()
            atexit.register(_shared.close)
        return _shared
