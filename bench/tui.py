"""Dashboard benchmark: time from start to the first full paint, and CPU while refreshing every second.

    python bench/tui.py [--runs 5] [--seconds 20]

Each figure comes from a fresh child process (cold imports, like `hems tui`), running the real app
headless on the real `LocalSource`: a state file rewritten every second by a separate writer process
(a daemon at a 1-s cycle, ten times the default rate) and a SQLite database with a day of 1-min data.
Prints best and median per row (first paint is measured on the Now screen, where the app starts; the
other rows switch screen after it). Other engineers load the shared CPU: run it a few times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

T_START = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent
# this file is named tui.py: keep its folder off the path so `import tui` finds the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
WRITER = """
import json, os, sys, time
from datetime import UTC, datetime
sys.path.insert(0, {tests!r})
from tui_testing import state_doc
path = {path!r}
i = 0
while True:
    doc = state_doc(datetime.now(UTC))
    doc["grid"]["p_import_w"] = 2000.0 + (i % 50) * 17.0
    doc["circuits"]["kitchen"]["i_a"] = 5.0 + (i % 10)
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f)
    os.replace(path + ".tmp", path)
    i += 1
    time.sleep(1.0)
"""


def make_database(path: Path) -> None:
    from hems.storage import SampleWriter, Storage

    sys.path.insert(0, str(ROOT / "tests" / "tui"))
    from tui_testing import plan_doc

    st = Storage.open(path, timezone="Europe/Oslo")
    writer = SampleWriter(st)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=24)
    for minute in range(24 * 60):
        writer.add(
            start + timedelta(minutes=minute),
            {"grid.p_import_w": 1500.0, "pv.p_w": 300.0, "circuit.kitchen.p_w": 400.0},
        )
    writer.close()
    st.put_doc("plan", plan_doc())
    st.close()


def child(state: str, db: str, seconds: float, size: tuple[int, int], key: str) -> dict[str, float]:
    """One run: returns first-paint time [s] and CPU share [%] while refreshing once per second."""
    import asyncio

    from tui.app import HemsApp, LiveUpdate
    from tui.source import LocalSource

    marks: dict[str, float] = {}

    class Timed(HemsApp):
        def on_live_update(self, message: LiveUpdate) -> None:
            super().on_live_update(message)
            if "paint" not in marks and message.live is not None:
                self.call_after_refresh(lambda: marks.setdefault("paint", time.perf_counter()))

    app = Timed(LocalSource(state, db), poll_seconds=1.0, timezone="Europe/Oslo")

    async def main() -> None:
        async def measure() -> None:
            while "paint" not in marks:
                await asyncio.sleep(0.01)
            if key:
                app.call_later(app.switch_mode, key)
            await asyncio.sleep(2.0)  # let the first stored reads settle
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await asyncio.sleep(seconds)
            marks["cpu"] = (time.process_time() - cpu0) / (time.perf_counter() - wall0) * 100
            app.call_later(app.exit)

        async def run() -> None:
            await app.run_async(headless=True, size=size)

        await asyncio.gather(run(), measure())

    asyncio.run(main())
    import resource

    return {
        "paint_s": marks["paint"] - T_START,
        "cpu_pct": marks["cpu"],
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--child", nargs=5, metavar=("STATE", "DB", "SECONDS", "SIZE", "MODE"))
    args = parser.parse_args()
    if args.child:
        state, db, seconds, size, mode = args.child
        w, h = (int(v) for v in size.split("x"))
        print(json.dumps(child(state, db, float(seconds), (w, h), "" if mode == "-" else mode)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        state, db = Path(tmp) / "state.json", Path(tmp) / "hems.db"
        make_database(db)
        code = WRITER.format(tests=str(ROOT / "tests" / "tui"), path=str(state))
        writer = subprocess.Popen([sys.executable, "-c", code])
        try:
            while not state.exists():
                time.sleep(0.05)
            rows = []
            for size, mode in (("80x24", "-"), ("120x40", "-"), ("80x24", "circuits"), ("120x40", "plan")):
                results = []
                for _ in range(args.runs):
                    out = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--child",
                            str(state),
                            str(db),
                            str(args.seconds),
                            size,
                            mode,
                        ],
                        capture_output=True,
                        text=True,
                        check=True,
                        env={**os.environ, "PYTHONPATH": str(ROOT)},
                    )
                    results.append(json.loads(out.stdout.strip().splitlines()[-1]))
                rows.append((size, "now" if mode == "-" else mode, results))
        finally:
            writer.terminate()
            writer.wait()
    print(
        f"{'size':<8}{'screen':<10}{'first paint s (best/median)':>30}{'CPU % at 1 Hz (best/median)':>30}"
        f"{'max RSS MB':>12}"
    )
    for size, mode, results in rows:
        paint = sorted(r["paint_s"] for r in results)
        cpu = sorted(r["cpu_pct"] for r in results)
        rss = max(r["rss_mb"] for r in results)
        print(
            f"{size:<8}{mode:<10}{paint[0]:>17.3f} / {statistics.median(paint):<10.3f}"
            f"{cpu[0]:>17.2f} / {statistics.median(cpu):<10.2f}{rss:>12.0f}"
        )


if __name__ == "__main__":
    main()
