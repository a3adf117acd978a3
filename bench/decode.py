"""Benchmark of the HAN/P1 decoder: frames per second, and CPU per day at the meters' real cadence.

Run by hand: ``python bench/decode.py [--repeat 5]``. Prints a table; the target is that decoding
costs < 0.1 % of one core at real cadence (86.4 CPU-seconds per day).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from devices.han.decode import parse_frame
from devices.han.stream import StreamDecoder

VECTORS = {
    v["id"]: v
    for v in json.loads((Path(__file__).parents[1] / "tests/data/han/meter_frames.json").read_text())
}


def _bytes(vector_id: str) -> bytes:
    v = VECTORS[vector_id]
    return bytes.fromhex(v["hex"]) if "hex" in v else v["telegram"].encode("latin-1")


#: meter -> [(frame, frames per day)]: the lists each meter pushes and how often
CADENCE = {
    "Aidon 6534 (2.5 s / 10 s / 1 h)": [
        ("no-aidon-6534-list1", 86400 / 2.5 - 86400 / 10),
        ("no-aidon-6534-list2", 86400 / 10 - 24),
        ("no-aidon-6534-list3", 24),
    ],
    "Kaifa MA304H4 (2 s / 10 s / 1 h)": [
        ("no-kaifa-ma304h4-list1", 86400 / 2 - 86400 / 10),
        ("no-kaifa-ma304h4-list2", 86400 / 10 - 24),
        ("no-kaifa-ma304h3e-list3", 24),
    ],
    "Kamstrup 684 (10 s / 1 h)": [("no-kamstrup-684-10s", 86400 / 10 - 24), ("no-kamstrup-684-hourly", 24)],
    "DSMR 5 P1 (1 s)": [("nl-dsmr50-iskra-am550-real", 86400)],
}


def _per_frame(fn, n: int, repeat: int) -> tuple[float, float]:
    """Best and median CPU seconds per call over ``repeat`` runs of ``n`` calls."""
    runs = []
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(n):
            fn()
        runs.append((time.process_time() - start) / n)
    return min(runs), statistics.median(runs)


def _stream_cost(frame: bytes, n: int, repeat: int, chunk: int = 64) -> tuple[float, float]:
    """CPU per frame through the stream path, fed in serial-sized reads of ``chunk`` bytes."""
    data = (frame + b"\x00") * n
    runs = []
    for _ in range(repeat):
        decoder = StreamDecoder()
        start = time.process_time()
        for i in range(0, len(data), chunk):
            decoder.feed(data[i : i + chunk])
        runs.append((time.process_time() - start) / n)
        assert decoder.counts["ok"] == n, decoder.counts
    return min(runs), statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("-n", type=int, default=2000, help="frames per run")
    args = parser.parse_args()

    print(f"{'frame':34} {'bytes':>5} {'parse fr/s':>11} {'stream fr/s':>12} {'stream median':>14}")
    cost: dict[str, float] = {}
    for vector_id in sorted({f for lists in CADENCE.values() for f, _ in lists}):
        frame = _bytes(vector_id)
        best, _median = _per_frame(lambda frame=frame: parse_frame(frame), args.n, args.repeat)
        s_best, s_median = _stream_cost(frame, args.n, args.repeat)
        cost[vector_id] = s_median
        print(f"{vector_id:34} {len(frame):5d} {1 / best:11.0f} {1 / s_best:12.0f} {1 / s_median:14.0f}")

    print()
    print(f"{'meter at real cadence':34} {'frames/day':>10} {'CPU s/day':>10} {'% of a core':>12}")
    for meter, lists in CADENCE.items():
        frames = sum(count for _f, count in lists)
        seconds = sum(cost[f] * count for f, count in lists)
        print(f"{meter:34} {frames:10.0f} {seconds:10.2f} {100 * seconds / 86400:11.4f}%")
    print("\n(stream = finder + checks + decode, median of runs; target < 0.1 % of one core)")


if __name__ == "__main__":
    main()
