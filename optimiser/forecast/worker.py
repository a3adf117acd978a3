"""Run the forecast in a separate process so pvlib and pandas never load into the daemon.

`forecast_in_subprocess(request, timeout_s)` starts a one-worker ``ProcessPoolExecutor`` with the
"spawn" context (a fresh interpreter: no forked copy of the daemon, its threads or sockets), runs
`optimiser.forecast.service.run_forecast` there and returns its plain-data answer. The pool is shut
down after each call, so the memory pvlib needed goes back to the system.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from lifeline import die_with_parent


class ForecastTimeout(Exception):
    """The worker did not answer within the time limit (it is terminated)."""


def _run(request: dict[str, Any]) -> dict[str, Any]:
    from optimiser.forecast.service import run_forecast

    return run_forecast(request)


def forecast_in_subprocess(request: dict[str, Any], timeout_s: float = 120.0) -> dict[str, Any]:
    """The day's forecast computed in a fresh worker process.

    ``request``/answer: see `optimiser.forecast.service`. Raises `ForecastTimeout` after
    ``timeout_s`` [s]; an exception inside the worker is re-raised here.
    """
    pool = ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent
    )
    try:
        return pool.submit(_run, request).result(timeout=timeout_s)
    except FutureTimeout:
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()  # the pool has no public cancel for a running task
        raise ForecastTimeout(f"forecast worker gave no answer within {timeout_s:g} s") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
