"""The research server at study size: receive, store, query and delete, against the issue's targets.

Runs a real `hems research serve` (a subprocess, TLS with a self-made certificate) on a fresh data
directory, enrols the households, and uploads over HTTPS with a few client threads through the box's
own transport (`hems.telemetry.transport`): a box sends at most 7 batches in one round, over one
connection (keep-alive), so a year's backlog is 53 rounds a box. The batches are built and gzip'd
before the clock starts (each box builds its own); the client's requests, TLS included, still share
this machine's cores with the server, so the figures are conservative:

1. 100 households x 1 day of raw 10-s data (3-phase meter: voltage, current and power per phase,
   import/export, 12 circuits) — target <= 60 s; the bytes stored per household-day — target <= 1 MB.
2. 100 households x 365 days of 15-min batches — target <= 5 min.
3. A month of 15-min data across the 100 households, mean import by released prefix and local hour,
   through `released_connection` (DuckDB) — target <= 2 s (opening the connection included).
4. Deleting one household out of 100 x 365 days (`resign`: files, index, VACUUM) — target <= 10 s.

Usage: python bench/research_ingest.py [--dir /tmp/hems-research-bench] [--households 100]
       [--days 365] [--threads 3] [--workers 1]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from hems.api.tls import make_certificate  # noqa: E402
from hems.telemetry import transport  # noqa: E402
from research.enrol import enrol  # noqa: E402
from research.paths import DataDir  # noqa: E402
from research.resign import resign  # noqa: E402
from research.store.released import released_connection  # noqa: E402

TZ = ZoneInfo("Europe/Oslo")
ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
CIRCUITS = ["heaters-living", "heaters-bedrooms", "bathroom-floor", "water-heater", "ev-charger", "stove"]
CIRCUITS += ["dishwasher", "washer", "fridge", "lights", "kitchen-sockets", "living-sockets"]
POSTCODES = ["1081", "1082", "1083", "1084", "0150", "0151", "0152", "2001", "3001", "3002", "3003", "4001"]


def bounds(day: date) -> tuple[datetime, datetime]:
    nxt = day + timedelta(days=1)
    return (
        datetime(day.year, day.month, day.day, tzinfo=TZ).astimezone(UTC),
        datetime(nxt.year, nxt.month, nxt.day, tzinfo=TZ).astimezone(UTC),
    )


def readings(day: date, resolution_s: int, rng: random.Random) -> dict[str, list[float | None]]:
    """A plausible house: 12 circuits following the hour with noise; the meter sums them (+ 3 %)."""
    start, end = bounds(day)
    n = int((end - start).total_seconds()) // resolution_s
    base = [200 + 150 * rng.random() for _ in CIRCUITS]
    circuits: dict[str, list[float | None]] = {f"circuit.{c}.p_w": [] for c in CIRCUITS}
    total = []
    for i in range(n):
        hour = (i * resolution_s / 3600.0) % 24
        shape = 1.0 + 0.8 * math.sin((hour - 7) / 24 * 2 * math.pi) ** 2
        s = 0.0
        for c, b in zip(CIRCUITS, base, strict=True):
            v = round(max(b * shape + rng.gauss(0, 15), 0.0), 0 if resolution_s < 60 else 1)
            circuits[f"circuit.{c}.p_w"].append(v)
            s += v
        total.append(s * 1.03)
    out: dict[str, list[float | None]] = dict(circuits)
    out["grid.p_import_w"] = [round(t, 1) for t in total]
    out["grid.p_export_w"] = [0.0] * n
    if resolution_s < 60:  # the HAN meter's list-2 values per phase
        for ph in ("l1", "l2", "l3"):
            u = [round(230 + rng.gauss(0, 1.5), 1) for _ in range(n)]
            p = [round(t / 3 + rng.gauss(0, 20), 0) for t in total]
            out[f"grid.u_{ph}_v"] = list(u)
            out[f"grid.i_{ph}_a"] = [round(pp / uu, 2) for pp, uu in zip(p, u, strict=True)]
            out[f"grid.p_{ph}_w"] = list(p)
    return out


def batch(hid: str, day: date, prefix: str, resolution_s: int, rng: random.Random) -> dict[str, Any]:
    start, end = bounds(day)
    values = readings(day, resolution_s, rng)
    hours = resolution_s / 3600
    interval: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat()}
    interval["slots"] = int((end - start).total_seconds()) // resolution_s
    if resolution_s % 60:
        interval["resolution_seconds"] = resolution_s
    else:
        interval["resolution_minutes"] = resolution_s // 60
    import_kwh = round(sum(v or 0 for v in values["grid.p_import_w"]) * hours / 1000, 4)
    return {
        "schema": "hems-telemetry/1",
        "batch_id": f"{hid}/{day.isoformat()}",
        "household_id": hid,
        "day": day.isoformat(),
        "site": {"postcode_prefix": prefix, "country": "NO", "timezone": "Europe/Oslo", "network": "TN"}
        | {"main_fuse_a": 32.0},
        "interval": interval,
        "readings": values,
        "summary": {"coverage": 1.0, "house": {"import_kwh": import_kwh, "export_kwh": 0.0}},
        "software": "hems bench",
    }


class Server:
    def __init__(self, data: Path, cert: Path, key: Path, workers: int = 1) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        cmd = [
            sys.executable,
            "-m",
            "hems",
            "research",
            "serve",
            "--data",
            str(data),
            "--port",
            str(self.port),
        ]
        cmd += ["--cert", str(cert), "--key", str(key), "--workers", str(workers)]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(cmd, env=env)
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the research server did not start")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(30)


Upload = tuple[str, str, bytes]  #: (token, batch id, gzip'd body): what one box sends
ROUND = 7  #: batches a box sends in one round at most (telemetry.max_batches_per_attempt's default)


def bodies(jobs: Iterator[tuple[str, dict[str, Any]]]) -> Iterator[Upload]:
    """Each (token, batch) as the box sends it: compact JSON, gzip'd."""
    for token, doc in jobs:
        yield token, doc["batch_id"], gzip.compress(json.dumps(doc, separators=(",", ":")).encode(), 6)


def rounds(items: Iterable[Upload], per_round: int = ROUND) -> list[list[Upload]]:
    """The uploads as boxes send them: each box's batches oldest first, at most ``per_round`` in one
    round (the box's `max_batches_per_attempt`), the boxes' rounds interleaved."""
    by_box: dict[str, list[Upload]] = {}
    for item in items:
        by_box.setdefault(item[0], []).append(item)
    chunks = [[b[i : i + per_round] for i in range(0, len(b), per_round)] for b in by_box.values()]
    return [c[k] for k in range(max(map(len, chunks), default=0)) for c in chunks if k < len(c)]


def upload(url: str, ca_file: Path, jobs: Iterable[Upload], threads: int) -> tuple[int, int]:
    """Send every (token, batch id, body) with the box's own transport (`hems.telemetry.transport`),
    one round of a box per connection as the box does; (batches, gzip'd bytes). Raises on a refusal."""
    work: queue.Queue[list[Upload] | None] = queue.Queue(maxsize=threads * 4)
    sent = [0, 0]
    failed: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        while (chunk := work.get()) is not None:
            endpoint = transport.Endpoint(url, chunk[0][0], ca_file=str(ca_file), timeout_s=120)
            with transport.Session(endpoint) as session:
                for _, batch_id, body in chunk:
                    try:
                        transport.send_batch(endpoint, batch_id, body, session)
                        ok = True
                    except transport.TransportError as exc:
                        failed.append(f"{batch_id}: {exc}")
                        ok = False
                    with lock:
                        sent[0] += ok
                        sent[1] += len(body)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for chunk in rounds(jobs):
        work.put(chunk)
    for _ in pool:
        work.put(None)
    for t in pool:
        t.join()
    if failed:
        raise RuntimeError(f"{len(failed)} batches refused, e.g. {failed[0]}")
    return sent[0], sent[1]


def store_bytes(data: DataDir) -> int:
    return sum(p.stat().st_size for p in data.store.rglob("*.parquet"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="/tmp/hems-research-bench")
    ap.add_argument("--households", type=int, default=100)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--threads", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1, help="the server's worker processes (default 1)")
    args = ap.parse_args()
    base = Path(args.dir)
    shutil.rmtree(base, ignore_errors=True)
    certs = make_certificate(base / "tls", "localhost")
    n = args.households
    rows: list[tuple[str, str, str, str]] = []

    # 1. raw 10-s data, one day
    raw = DataDir(base / "raw").ensure()
    homes = [(enrol(raw, POSTCODES[i % len(POSTCODES)], now=datetime.now(UTC)), i) for i in range(n)]
    rngs = [random.Random(i) for i in range(n)]  # one generator per household: distinct ids
    ids = ["h-" + "".join(rngs[i].choice(ALPHABET) for _ in range(26)) for i in range(n)]
    server = Server(raw.root, certs.cert, certs.key, args.workers)
    day = date(2026, 1, 15)
    built = list(bodies((e.token, batch(ids[i], day, e.prefix, 10, random.Random(i))) for e, i in homes))
    t0 = time.perf_counter()
    count, wire_bytes = upload(f"https://localhost:{server.port}/v1", certs.cert, built, args.threads)
    raw_s = time.perf_counter() - t0
    server.stop()
    per_home = store_bytes(raw) / n
    rows.append(
        (f"{n} households x 1 day raw 10-s: received, validated, stored", f"{raw_s:.1f} s", "<= 60 s", "")
    )
    rows.append(("raw storage per household-day (Parquet, zstd)", f"{per_home / 1e6:.2f} MB", "<= 1 MB", ""))
    rows.append(
        (
            "raw upload per household-day (gzip'd JSON on the wire)",
            f"{wire_bytes / count / 1e6:.2f} MB",
            "",
            "",
        )
    )

    # 2. a year of 15-min batches
    year = DataDir(base / "year").ensure()
    homes = [(enrol(year, POSTCODES[i % len(POSTCODES)], now=datetime.now(UTC)), i) for i in range(n)]
    server = Server(year.root, certs.cert, certs.key, args.workers)
    first = date(2025, 1, 1)

    def year_jobs() -> Iterator[tuple[str, dict[str, Any]]]:
        rngs = {i: random.Random(1000 + i) for _, i in homes}
        for d in range(args.days):
            for e, i in homes:
                yield e.token, batch(ids[i], first + timedelta(days=d), e.prefix, 900, rngs[i])

    built = list(bodies(year_jobs()))  # 100 boxes build their own: not the server's time
    t0 = time.perf_counter()
    count, _ = upload(f"https://localhost:{server.port}/v1", certs.cert, built, args.threads)
    year_s = time.perf_counter() - t0
    server.stop()
    rows.append(
        (f"{n} households x {args.days} days 15-min ({count} batches)", f"{year_s:.1f} s", "<= 300 s", "")
    )
    rows.append(("15-min storage, all households and days", f"{store_bytes(year) / 1e6:.1f} MB", "", ""))

    # 3. a month by prefix and hour
    t0 = time.perf_counter()
    con = released_connection(year, 5)
    result = con.execute(
        "SELECT postcode_prefix, hour(timezone('Europe/Oslo', ts)) AS hour, avg(value) AS mean_import_w, "
        "count(DISTINCT household_id) AS households FROM readings "
        "WHERE channel = 'grid.p_import_w' AND day BETWEEN DATE '2025-03-01' AND DATE '2025-03-31' "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    query_s = time.perf_counter() - t0
    rows.append(
        (
            f"a month x {n} households by prefix and hour ({len(result)} rows)",
            f"{query_s:.2f} s",
            "<= 2 s",
            "",
        )
    )

    # 4. delete one household
    victim = homes[0][0]
    t0 = time.perf_counter()
    receipt = resign(
        year,
        victim.enrolment,
        requested_by="administrator",
        requested_at=datetime.now(UTC),
        now=datetime.now(UTC),
    )
    delete_s = time.perf_counter() - t0
    rows.append(
        (
            f"delete one household of {n} x {args.days} days ({receipt.files} files)",
            f"{delete_s:.2f} s",
            "<= 10 s",
            "",
        )
    )

    load = os.getloadavg()
    cores = f"{os.cpu_count()} cores, {args.workers} server worker(s)"
    print(f"\nresearch server bench ({cores}, load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f})")
    width = max(len(r[0]) for r in rows)
    print(f"{'what':{width}}  {'measured':>10}  target")
    for what, value, target, _ in rows:
        print(f"{what:{width}}  {value:>10}  {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
