"""How long one full read of 12 circuit meters on one RS-485 bus takes at 9600 baud.

Two figures, printed as a table:

1. computed from the request plan: every request and answer frame on the wire (10 bits per byte at
   8N1), the 3.5-character silence before each frame, and a meter's turnaround time;
2. measured: the real driver (`build_circuit_meters`, one shared client and lock) reading 12 simulated
   meters through a pseudo-terminal bus that passes bytes at the real baud rate (`PtyBus`), best and
   median and worst of back-to-back runs; also with one meter dead: its 1-s timeout is paid on the
   runs where it is tried, and not while it backs off (after its 2nd failure).

Run: ``python bench/modbus.py [--runs 5] [--turnaround-ms 20]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter

from devices.modbus import build_circuit_meters
from devices.modbus.config import CircuitConfig
from devices.modbus.maps import MAPS, plan_blocks
from devices.modbus.sim import PtyBus, register_image, sim_device

BAUD = 9600
CYCLE_S = 10.0
#: a household board: 8 single-phase circuits (SDM120/SDM230), 4 three-phase (SDM630, EM340)
MODELS = ["sdm120"] * 6 + ["sdm230"] * 2 + ["sdm630"] * 2 + ["em340"] * 2

VALUES_1P = {"u_v": 230.0, "i_a": 4.25, "p_w": 977.5, "pf": 1.0, "f_hz": 50.0, "e_import_kwh": 1200.5}
VALUES_3P = {
    f"{q}_{ln}_{u}": v for q, u, v in (("u", "v", 230.0), ("i", "a", 5.0)) for ln in ("l1", "l2", "l3")
}


def wire_time_s(model: str, baud: int = BAUD, bits: int = 10, turnaround_s: float = 0.02) -> float:
    """Seconds one read of ``model`` holds the bus: frames, inter-frame silences, meter turnaround."""
    m = MAPS[model]
    total = 0.0
    char_s = bits / baud
    silence = 3.5 * char_s
    for block in plan_blocks(m.registers, m.max_registers, m.max_gap):
        request = 8  # id, fc, address(2), count(2), crc(2)
        answer = 5 + 2 * block.count  # id, fc, byte count, data, crc(2)
        total += silence + request * char_s + turnaround_s + silence + answer * char_s
    return total


def circuits(port: str, dead_unit: int | None = None) -> list[CircuitConfig]:
    out = []
    for unit, model in enumerate(MODELS, start=1):
        meter = {"model": model, "serial": port, "baudrate": BAUD, "unit_id": unit, "timeout_s": 1.0}
        out.append(
            CircuitConfig.model_validate({"id": f"c{unit}", "line": "L1", "breaker_a": 16, "meter": meter})
        )
    if dead_unit is not None:
        meter = {"model": "sdm120", "serial": port, "baudrate": BAUD, "unit_id": dead_unit, "timeout_s": 1.0}
        out.append(
            CircuitConfig.model_validate({"id": "dead", "line": "L1", "breaker_a": 16, "meter": meter})
        )
    return out


async def one_cycle(configs: list[CircuitConfig], runs: int) -> tuple[list[float], Counter[str]]:
    meters = build_circuit_meters(configs)
    outcomes: Counter[str] = Counter()
    times = []
    try:
        for _ in range(runs):
            start = time.perf_counter()
            results = await asyncio.gather(*(m.read() for m in meters), return_exceptions=True)
            times.append(time.perf_counter() - start)
            outcomes.update("ok" if not isinstance(r, BaseException) else "error" for r in results)
    finally:
        meters[0].close()
    return times, outcomes


def measure(runs: int, turnaround_s: float, dead: bool) -> tuple[list[float], Counter[str]]:
    devices = [
        sim_device(u, register_image(MAPS[m], VALUES_3P if MAPS[m].phases == 3 else VALUES_1P))
        for u, m in enumerate(MODELS, start=1)
    ]
    with PtyBus(devices, baudrate=BAUD, throttle=True, turnaround_s=turnaround_s, dead={99}) as bus:
        return asyncio.run(one_cycle(circuits(bus.port, 99 if dead else None), runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--turnaround-ms", type=float, default=20.0, help="meter think time per request")
    args = parser.parse_args()
    ta = args.turnaround_ms / 1000

    print(f"Computed from the request plan ({BAUD} baud 8N1, turnaround {args.turnaround_ms:g} ms)")
    print(f"{'model':<10}{'requests':>9}{'registers':>10}{'bus time ms':>13}")
    for model in dict.fromkeys(MODELS):
        m = MAPS[model]
        blocks = plan_blocks(m.registers, m.max_registers, m.max_gap)
        regs = sum(b.count for b in blocks)
        print(f"{model:<10}{len(blocks):>9}{regs:>10}{wire_time_s(model, turnaround_s=ta) * 1000:>13.0f}")
    computed = sum(wire_time_s(m, turnaround_s=ta) for m in MODELS)
    share = f"({computed / CYCLE_S:.0%} of a 10-s cycle)"
    print(f"{'12 meters':<10}{'':>9}{'':>10}{computed * 1000:>13.0f}   {share}")
    print()
    print(f"Measured: real driver through a pty bus at {BAUD} baud, {args.runs} runs")
    print("(the first run reads every meter's whole map; later runs read voltage, current and power, and")
    print(" each meter its whole map every 6th read, staggered by unit id: the steady state)")
    print(
        f"{'case':<28}{'first s':>8}{'best s':>8}{'median s':>10}{'worst s':>9}{'reads ok/error':>16}"
        f"{'fits 10 s':>11}"
    )
    for label, dead in (("12 meters", False), ("12 meters + 1 dead (1 s)", True)):
        times, outcomes = measure(args.runs, ta, dead)
        steady = times[1:] or times
        best, median = min(steady), statistics.median(steady)
        fits = "yes" if max(times) < CYCLE_S else "NO"
        counts = f"{outcomes['ok']}/{outcomes['error']}"
        row = (
            f"{label:<28}{times[0]:>8.2f}{best:>8.2f}{median:>10.2f}{max(steady):>9.2f}{counts:>16}{fits:>11}"
        )
        print(row)


if __name__ == "__main__":
    main()
