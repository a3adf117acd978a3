"""The planning worker under a kill (issue 23): a worker killed mid-solve is one clear error, and the
next plan gets a fresh worker whose plan is the same as one made in this process."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.process import BaseProcess

import pytest

from optimiser.plan import plan_scenario
from optimiser.worker import WorkerError, plan_in_subprocess
from tests.optimiser.test_time_limit import fifty_programs


def test_a_worker_killed_mid_solve_is_a_clear_error_and_the_next_plan_works() -> None:
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = plan_in_subprocess(fifty_programs(), timeout=60.0, time_limit=20.0)
        except WorkerError as exc:
            outcome["error"] = str(exc)

    before = {p.pid for p in multiprocessing.active_children()}  # e.g. a warm worker of the session
    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 30.0
    workers: list[BaseProcess] = []
    while not workers and time.monotonic() < deadline:
        time.sleep(0.05)
        workers = [p for p in multiprocessing.active_children() if p.pid not in before]
    assert workers, "no planning worker started"
    time.sleep(2.0)  # past imports and building: the worker is solving
    for proc in workers:
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
    thread.join(30.0)
    assert not thread.is_alive()
    assert "result" not in outcome
    assert outcome["error"] == "the planning process died (killed by signal 9)"

    small = fifty_programs()
    small["appliance"] = small["appliance"][:2]
    fresh = plan_in_subprocess(small, timeout=60.0)
    here = plan_scenario(small, time_limit=48.0)
    assert fresh["status"] == here["status"] == "optimal"
    assert fresh["objective"] == pytest.approx(here["objective"], rel=1e-9)
    assert {k: v["start"] for k, v in fresh["appliances"].items()} == {
        k: v["start"] for k, v in here["appliances"].items()
    }
