"""The daemon's warm planning worker (issue 23): one process for many plans, the same plans as a
fresh process, a clear error and a fresh process after a kill, a timeout or growth past its bound."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest

from optimiser.worker import PlanningWorker, WorkerError, plan_in_subprocess, rss_mb
from tests.optimiser.test_time_limit import fifty_programs


def _small(n: int = 2) -> dict[str, Any]:
    scenario = fifty_programs()
    scenario["appliance"] = scenario["appliance"][:n]
    return scenario


def _starts(plan: dict[str, Any]) -> dict[str, Any]:
    return {k: v["start"] for k, v in plan["appliances"].items()}


@pytest.fixture
def worker() -> Any:
    w = PlanningWorker()
    yield w
    w.close()


def test_one_warm_process_gives_the_plans_of_fresh_ones(worker: PlanningWorker) -> None:
    worker.start()
    pid = worker.pid
    for n in (1, 3, 2):
        warm = worker.plan(_small(n), timeout=60.0)
        fresh = plan_in_subprocess(_small(n), timeout=60.0)
        assert warm["status"] == fresh["status"] == "optimal"
        assert warm["objective"] == pytest.approx(fresh["objective"], rel=1e-9)
        assert _starts(warm) == _starts(fresh)
    assert worker.pid == pid and worker.started == 1  # the same process planned all three
    bad = _small(1)
    bad["series"]["base_load_kw"] = [1.0]
    with pytest.raises(WorkerError, match=r"series\.base_load_kw"):
        worker.plan(bad, timeout=60.0)
    assert worker.pid == pid  # a bad scenario is an answer, not a reason to restart


def test_a_warm_worker_killed_mid_solve_is_a_clear_error_then_a_fresh_one(worker: PlanningWorker) -> None:
    worker.plan(_small(1), timeout=60.0)  # warm: imports done
    pid = worker.pid
    assert pid is not None
    outcome: dict[str, str] = {}

    def run() -> None:
        try:
            worker.plan(fifty_programs(), timeout=60.0, time_limit=20.0)
        except WorkerError as exc:
            outcome["error"] = str(exc)

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(1.5)  # solving
    os.kill(pid, signal.SIGKILL)
    thread.join(30.0)
    assert outcome.get("error") == "the planning process died (killed by signal 9)"
    again = worker.plan(_small(2), timeout=60.0)
    assert again["status"] == "optimal" and worker.pid != pid and worker.started == 2


def test_an_overrun_kills_the_worker_and_the_next_plan_gets_a_fresh_one(worker: PlanningWorker) -> None:
    worker.plan(_small(1), timeout=60.0)
    pid = worker.pid
    with pytest.raises(WorkerError, match=r"longer than 0\.5 s"):
        worker.plan(fifty_programs(), timeout=0.5, time_limit=30.0)
    assert pid is not None and rss_mb(pid) is None  # gone
    assert worker.plan(_small(1), timeout=60.0)["status"] == "optimal"
    assert worker.started == 2


def test_a_worker_grown_past_its_bound_is_replaced_after_its_plan() -> None:
    worker = PlanningWorker(max_rss_mb=1.0)  # any real process is bigger: replaced after every plan
    try:
        first = worker.plan(_small(1), timeout=60.0)
        assert first["status"] == "optimal" and worker.pid is None  # its answer kept, the process gone
        worker.plan(_small(1), timeout=60.0)
        assert worker.started == 2
    finally:
        worker.close()


def test_a_worker_that_died_while_idle_is_replaced(worker: PlanningWorker) -> None:
    worker.plan(_small(1), timeout=60.0)
    pid = worker.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    assert worker.plan(_small(1), timeout=60.0)["status"] == "optimal"
    assert worker.started == 2


def test_the_daemon_plans_in_its_one_warm_worker() -> None:
    from hems.control.scenario import default_planner, prewarm_planner
    from optimiser.worker import shared_worker

    prewarm_planner()  # what build_control does when appliances are configured
    try:
        pid = shared_worker().pid
        assert pid is not None
        for n in (1, 2):
            assert default_planner(_small(n), 60.0)["status"] == "optimal"
        assert shared_worker().pid == pid
    finally:
        shared_worker().close()  # other tests count this process's children
