"""A request to a published schedule in the daemon, with the warm planning worker (issue 23).

The real `Control` (built by `build_control` with the default planner) on a real mosquitto, a paho
client acting as the dishwasher: it publishes a new request (a new seq, a moved window) and the clock
runs until its schedule arrives. Winter day: 3×25 A TN, Elvia's capacity tariff, evening prices; the
dishwasher, washer and dryer as programs and the EV as an energy need (each re-plan plans all four).

Cycles run back to back (a ManualClock, one simulated second each), so the figure is the daemon's own
work: the request read at the next cycle, the scenario built, the plan in the worker, the schedule
sent. A running daemon reads its appliances' messages once per cycle: add up to one cycle (10 s) of
waiting to the figures below when the request lands just after a cycle.

    python bench/plan_request.py [--requests 40] [--fresh]   # --fresh: a new process per plan

Prints median, p95 and worst [s], the worker's processes started and its resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hems.clock import ManualClock  # noqa: E402
from hems.config import parse_config  # noqa: E402
from hems.control import build_control  # noqa: E402
from hems.snapshot import Snapshot  # noqa: E402
from optimiser.worker import plan_in_subprocess, rss_mb, shared_worker  # noqa: E402

SITE = "bench"
T0 = datetime(2026, 1, 15, 15, 0, tzinfo=UTC)  # 16:00 in Oslo


def prices(slots: list[datetime], minutes: int) -> tuple[list[float], list[float]]:
    """A winter day's spot price [NOK/kWh]: dear mornings and evenings, cheap nights."""
    out = []
    for t in slots:
        h = (t.hour + 1) % 24  # Oslo in winter
        out.append(2.4 if 16 <= h < 20 else 1.9 if 7 <= h < 10 else 0.9 if h < 6 else 1.4)
    return out, [0.0] * len(slots)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(seq: int, profile: list[float], hours: int) -> dict[str, Any]:
    start = T0 + timedelta(hours=2, minutes=15 * (seq % 4))
    return {
        "seq": seq,
        "kind": "shiftable",
        "profile_kw": profile,
        "earliest_start": start.isoformat(),
        "latest_end": (start + timedelta(hours=hours)).isoformat(),
    }


async def main(args: argparse.Namespace) -> None:
    port = free_port()
    d = Path(tempfile.mkdtemp())
    (d / "m.conf").write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    broker = subprocess.Popen(["/usr/sbin/mosquitto", "-c", str(d / "m.conf")], stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    config = parse_config(
        {
            "site": {"id": SITE, "main_fuse_a": 25, "network": "TN"},
            "tariff": {"grid_company": "Elvia AS"},
            "mqtt": {"host": "127.0.0.1", "port": port, "resend_s": 600},
            "appliance": [
                {"id": "dishwasher", "kind": "shiftable", "line": "L1"},
                {"id": "washer", "kind": "shiftable", "line": "L2"},
                {"id": "dryer", "kind": "shiftable", "line": "L3"},
                {"id": "ev", "kind": "energy", "line": "3P"},
            ],
        }
    )
    planner = (lambda sc, timeout: plan_in_subprocess(sc, timeout)) if args.fresh else None
    clock = ManualClock(T0)
    control = build_control(config, None, clock, planner=planner, prices=prices)
    await control.start()
    got: queue.Queue[tuple[str, float]] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-appliances", protocol=mqtt.MQTTv5)
    base = f"hems/{SITE}/appliance"
    client.on_message = lambda c, u, m: got.put((m.topic, time.perf_counter()))
    client.connect("127.0.0.1", port)
    client.subscribe(f"{base}/+/schedule")
    client.loop_start()
    time.sleep(0.3)
    for aid, profile, hours in (("washer", [2.0, 0.5, 0.5, 0.3], 10), ("dryer", [2.5, 2.5, 2.0], 12)):
        client.publish(f"{base}/{aid}/request", json.dumps(request(1, profile, hours)))
    ev = {"seq": 1, "kind": "energy", "energy_kwh": 30.0, "min_kw": 0.0, "max_kw": 11.0}
    ev |= {"earliest_start": (T0 + timedelta(hours=2)).isoformat()}
    ev |= {"latest_end": (T0 + timedelta(hours=15)).isoformat()}
    client.publish(f"{base}/ev/request", json.dumps(ev))

    async def until_schedule(aid: str, since: float) -> float:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            clock.advance(1)
            await control.on_cycle(Snapshot(time=clock.now()))
            while not got.empty():
                topic, at = got.get_nowait()
                if topic == f"{base}/{aid}/schedule":
                    return at - since
            await asyncio.sleep(0.005)
        raise RuntimeError(f"no schedule for {aid} within 120 s")

    await until_schedule("ev", time.perf_counter())  # the first plan (a cold worker: not counted)
    times = []
    for seq in range(1, args.requests + 1):
        since = time.perf_counter()
        dish = request(seq, [2.0, 0.2, 0.2, 1.8], 8 + seq % 3)
        client.publish(f"{base}/dishwasher/request", json.dumps(dish))
        times.append(await until_schedule("dishwasher", since))
    await control.stop()
    client.loop_stop()
    client.disconnect()
    worker = shared_worker()
    pid = worker.pid
    rss = rss_mb(pid) if pid is not None else None
    worker.close()
    broker.terminate()
    broker.wait()
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    load = os.getloadavg()
    kind = "a fresh process per plan" if args.fresh else f"warm worker ({worker.started} process started"
    kind += "" if args.fresh else f", {rss:.0f} MB resident)" if rss is not None else ")"
    print(f"# python bench/plan_request.py --requests {args.requests}{' --fresh' if args.fresh else ''}")
    print(f"# {len(os.sched_getaffinity(0))} of {os.cpu_count()} cores, load {load[0]:.1f}; {kind}")
    print(f"{'requests':>8} {'median s':>9} {'p95 s':>7} {'worst s':>8}  target p95 <= 0.5 s")
    print(f"{len(times):>8} {statistics.median(times):>9.3f} {p95:>7.3f} {times[-1]:>8.3f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--fresh", action="store_true", help="a new planning process per plan (the old way)")
    asyncio.run(main(ap.parse_args()))
