"""The appliance drivers against real protocol peers: how fast a command shows in the read-back.

- relays (Shelly Gen2, Shelly Gen1, Tasmota) on a mosquitto started here on a free port: the box
  switches at the end of a cycle (as the daemon does, after reading), the simulated relay answers
  at once (as a real one does), and the box reads back at its next cycles; target ≤ 2 cycles;
- an OCPP 1.6J charge point and a 2.0.1 charging station (the `ocpp` package's ChargePoint over a
  real websocket, metering every 60 s as chargers commonly do): a new plan, sent whole as one
  charging profile, until the read-back power shows its slot's power; target ≤ 30 s;
- load shedding: the box lowers the limit on an overload warning (a stack-level-2 profile over the
  schedule); the time until the charger has accepted it, against the daemon's 10-s cycle (target:
  within one cycle).

Usage: python bench/appliances.py [--rounds 10] [--cycle-s 1.0]
(the cycle is shorter than the daemon's 10 s so the bench is quick; relays are counted in cycles,
which do not depend on the cycle's length as long as the relay answers within it)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devices.appliances.drivers.base import DrivenDevice
from devices.appliances.drivers.ocpp_central import CentralSystem
from devices.appliances.drivers.ocpp_charger import OcppCharger
from devices.appliances.drivers.relays import RELAYS
from devices.appliances.mqtt_link import MqttLink
from devices.simulated.chargepoint import run_charge_point
from devices.simulated.relays import SIM_RELAYS, ConstantLoad


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def relay_rounds(port: int, dialect: str, rounds: int, cycle_s: float) -> tuple[list[int], list[float]]:
    """Cycles until the read-back shows each switch, and the ms from command to that reading."""
    box = MqttLink("127.0.0.1", port, f"bench-box-{dialect}")
    dev = MqttLink("127.0.0.1", port, f"bench-dev-{dialect}")
    box.connected.wait(5)
    dev.connected.wait(5)
    sim = SIM_RELAYS[dialect](dev, "bench-relay", ConstantLoad(2000.0), report_s=60.0)
    stop = threading.Event()

    def device_loop() -> None:  # a real relay acts as soon as a message arrives
        while not stop.is_set():
            sim.tick(datetime.now(UTC))
            time.sleep(0.005)

    thread = threading.Thread(target=device_loop, daemon=True)
    thread.start()
    device = DrivenDevice(
        "r", "energy", RELAYS[dialect]("r", box, "bench-relay", 0, 2000.0), None, datetime.now(UTC)
    )
    cycles_out, ms_out = [], []
    try:
        time.sleep(0.3)
        for k in range(rounds):
            on = k % 2 == 0
            device.poll(datetime.now(UTC))
            sent = time.monotonic()
            device.set_power(datetime.now(UTC), None if on else 0.0)  # at the end of the cycle
            cycle = 0
            while cycle < 5:
                cycle += 1
                time.sleep(cycle_s)
                device.poll(datetime.now(UTC))
                r = device.reading
                if r is not None and r.on == on and ((r.p_w or 0.0) > 1000.0) == on:
                    break
            cycles_out.append(cycle)
            ms_out.append((time.monotonic() - sent) * 1000.0)
    finally:
        stop.set()
        thread.join()
        box.close()
        dev.close()
    return cycles_out, ms_out


async def ocpp_rounds(rounds: int, version: str) -> tuple[list[float], list[float]]:
    """Seconds from a new plan to a read-back power that shows it; ms to an accepted lower limit."""
    from types import SimpleNamespace

    charger = OcppCharger("ev", "bench-cp", 11_000.0)
    cs = CentralSystem("127.0.0.1", 0, {"bench-cp": (charger, "bench-password")})
    await cs.start()
    task = asyncio.create_task(
        run_charge_point(
            f"ws://127.0.0.1:{cs.port}", "bench-cp", "bench-password", version=version, meter_s=60.0
        )
    )
    device = DrivenDevice("ev", "energy", charger, None, datetime.now(UTC), relay=False, confirm_s=30.0)
    confirm, shed = [], []
    try:
        while charger.plugged_at is None:
            await asyncio.sleep(0.01)
        for k in range(rounds):
            target = 11_000.0 if k % 2 == 0 else 7_000.0
            t0 = time.monotonic()
            now = datetime.now(UTC)
            start = datetime.fromtimestamp(now.timestamp() // 900 * 900, UTC)
            kw = [target / 1000.0, 0.0, 11.0, 7.0] * 6  # a new six-hour plan
            device.ahead(SimpleNamespace(slot_start=start, slot_minutes=15, power_kw=kw))
            device.set_power(now, target / 1000.0)
            while abs((charger.p_w or 0.0) - target) > 150.0 or charger.limit_w != target:
                await asyncio.sleep(0.01)
            confirm.append(time.monotonic() - t0)
            t1 = time.monotonic()  # an overload warning: down to 6 A at once
            device.set_power(datetime.now(UTC), 4.2)
            while charger.limit_w != 4200.0:
                await asyncio.sleep(0.001)
            shed.append((time.monotonic() - t1) * 1000.0)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await cs.stop()
    return confirm, shed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--cycle-s", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        broker = subprocess.Popen(["/usr/sbin/mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            rows = []
            for dialect in ("shelly", "shelly-gen1", "tasmota"):
                cycles, ms = relay_rounds(port, dialect, args.rounds, args.cycle_s)
                rows.append(
                    (
                        f"relay {dialect}: command → confirmed",
                        f"max {max(cycles)} cycles",
                        "≤ 2 cycles",
                        f"median {statistics.median(cycles):g} cycles "
                        f"({statistics.median(ms):.0f} ms at {args.cycle_s:g}-s cycles)",
                    )
                )
        finally:
            broker.terminate()
            broker.wait(5)
    for version in ("1.6", "2.0.1"):
        confirm, shed = asyncio.run(ocpp_rounds(args.rounds, version))
        rows.append(
            (
                f"OCPP {version}: whole plan → confirmed power",
                f"max {max(confirm):.2f} s",
                "≤ 30 s",
                f"median {statistics.median(confirm):.2f} s (charger meters every 60 s; TriggerMessage)",
            )
        )
        rows.append(
            (
                f"OCPP {version} overload: limit lowered",
                f"max {max(shed):.0f} ms",
                "≤ 1 cycle (10 s)",
                f"median {statistics.median(shed):.0f} ms (accepted)",
            )
        )
    load = os.getloadavg()
    print(f"{'measure':44} {'result':16} {'target':18} notes")
    for name, result, target, note in rows:
        print(f"{name:44} {result:16} {target:18} {note}")
    print(
        f"({args.rounds} rounds each; relay cycle {args.cycle_s:g} s; "
        f"load average {load[0]:.2f} {load[1]:.2f})"
    )


if __name__ == "__main__":
    main()
