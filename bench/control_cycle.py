"""How long `Control.on_cycle` takes with a real broker: alerts on 3 lines + 12 circuits, state
published each cycle, 4 appliances. Run by hand: ``python bench/control_cycle.py [CYCLES]``."""

from __future__ import annotations

import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from devices.natures import CircuitReading, GridReading
from hems.clock import ManualClock
from hems.config import parse_config
from hems.control import build_control
from hems.snapshot import Snapshot


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def main(cycles: int) -> None:
    port = free_port()
    d = Path(tempfile.mkdtemp())
    (d / "m.conf").write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    broker = subprocess.Popen(["/usr/sbin/mosquitto", "-c", str(d / "m.conf")], stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    circuits = [{"id": f"c{i}", "line": "L1", "breaker_a": 16, "curve": "B"} for i in range(12)]
    appliances = [
        {"id": f"a{i}", "kind": "relay", "power_kw": 2.0, "sheddable": True, "interruptible": True}
        for i in range(4)
    ]
    config = parse_config(
        {
            "site": {"id": "bench"},
            "mqtt": {"host": "127.0.0.1", "port": port},
            "circuit": circuits,
            "appliance": appliances,
        }
    )
    clock = ManualClock(datetime(2026, 1, 15, 12, tzinfo=UTC))
    control = build_control(config, None, clock)
    await control.start()
    await asyncio.sleep(0.5)
    times = []
    for i in range(cycles):
        clock.advance(10)
        t = clock.now()
        snap = Snapshot(
            time=t,
            grid=GridReading(time=t, p_import_w=5000.0 + i % 7, i_l1_a=20.0, i_l2_a=8.0, i_l3_a=9.0),
            circuits=MappingProxyType(
                {f"c{k}": CircuitReading(time=t, i_a=10.0, p_w=2300.0) for k in range(12)}
            ),
        )
        began = time.perf_counter()
        await control.on_cycle(snap)
        times.append((time.perf_counter() - began) * 1000)
    await control.stop()
    broker.terminate()
    broker.wait()
    times.sort()
    print(
        f"{cycles} cycles: median {statistics.median(times):.3f} ms, "
        f"p95 {times[int(0.95 * len(times))]:.3f} ms, "
        f"max {times[-1]:.3f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
