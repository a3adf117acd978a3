"""A kill -9 of `hems demo` leaves no worker behind (issue 15 item 16): the PV simulation's worker
and multiprocessing's resource tracker end with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_kill_9_of_the_demo_leaves_no_worker(tmp_path: Path) -> None:
    for _ in range(3):
        demo = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hems",
                "demo",
                "--headless",
                "--quiet",
                "--speed",
                "0",
                "--stop-after",
                "30d",
                "--db",
                str(tmp_path / "d.db"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        workers: set[int] = set()
        while time.monotonic() < deadline and len(workers) < 2:  # the PV worker and the tracker
            workers = _children(demo.pid)
            time.sleep(0.2)
        assert len(workers) >= 2, "the demo started no worker process"
        os.kill(demo.pid, signal.SIGKILL)
        demo.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.1)
        assert not any(_alive(p) for p in workers), [p for p in workers if _alive(p)]
