"""Researchers' side of the research server at study size (by hand; prints a table).

Builds a store of 100 households x N days of 15-min batches through a real `hems research serve`
over HTTPS (the ingest bench's batches), approves a researcher, and times what researchers wait for:

1. a month x 100 households mean import by released prefix and local hour — through DuckDB directly
   (`released_connection`) and through the API (`POST /v1/query`, JSON over HTTPS) — target <= 2 s;
2. portal pages (the datasets page, the SQL page, a query on the SQL page), wall time of the request
   on loopback (an upper bound of the server's time) — target <= 200 ms.

Each figure is the median of --repeat runs (the first run is reported too: nothing is cached between
requests except the operating system's file cache).

Usage: python bench/research_query.py [--dir /tmp/hems-research-query] [--households 100] [--days 62]
       python bench/research_query.py --data /tmp/hems-research-bench/year   # a store already built
       (e.g. the year of `bench/research_ingest.py`: 100 households x 365 days, one resigned)
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import ssl
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from research_ingest import ALPHABET, POSTCODES, Server, batch, bodies, upload  # noqa: E402

from hems.api.tls import make_certificate  # noqa: E402
from research import accounts  # noqa: E402
from research.enrol import enrol  # noqa: E402
from research.paths import DataDir  # noqa: E402
from research.store.layout import households_in_store  # noqa: E402
from research.store.released import released_connection  # noqa: E402

MONTH_QUERY = (
    "SELECT postcode_prefix, hour(timezone('Europe/Oslo', ts)) AS hour, avg(value) AS mean_import_w, "
    "count(DISTINCT household_id) AS households FROM readings "
    "WHERE channel = 'grid.p_import_w' AND day BETWEEN DATE '2025-02-01' AND DATE '2025-02-28' "
    "GROUP BY ALL ORDER BY ALL"
)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(first run [s], median of the runs [s], the last result)."""
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times[0], statistics.median(times), result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="/tmp/hems-research-query")
    ap.add_argument("--households", type=int, default=100)
    ap.add_argument("--days", type=int, default=62)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=3)
    ap.add_argument("--data", type=Path, help="an existing data directory: query it, store nothing")
    args = ap.parse_args()
    base = Path(args.dir)
    shutil.rmtree(base, ignore_errors=True)
    certs = make_certificate(base / "tls", "localhost")
    ctx = ssl.create_default_context(cafile=str(certs.cert))
    data = DataDir(args.data or base / "data").ensure()
    n = len(households_in_store(data.store)) if args.data else args.households
    new = 0 if args.data else n
    homes = [(enrol(data, POSTCODES[i % len(POSTCODES)], now=datetime.now(UTC)), i) for i in range(new)]
    rngs = [random.Random(i) for i in range(n)]  # one generator per household: distinct ids
    ids = ["h-" + "".join(rngs[i].choice(ALPHABET) for _ in range(26)) for i in range(n)]
    first = date(2025, 1, 1)

    def jobs() -> Iterator[tuple[str, dict[str, Any]]]:
        rngs = {i: random.Random(1000 + i) for _, i in homes}
        for d in range(args.days):
            for e, i in homes:
                yield e.token, batch(ids[i], first + timedelta(days=d), e.prefix, 900, rngs[i])

    server = Server(data.root, certs.cert, certs.key)
    rows: list[tuple[str, str, str]] = []
    try:
        if homes:
            t0 = time.perf_counter()
            count, _ = upload(f"https://localhost:{server.port}/v1", certs.cert, bodies(jobs()), args.threads)
            took = time.perf_counter() - t0
            print(f"stored {count} batches ({n} households x {args.days} days) in {took:.0f} s")
        days = sum(1 for _ in data.store.glob("batches/household=*/month=*/*.parquet"))
        print(f"the store: {n} households, {days} batch files, in {data.root}")
        now = datetime.now(UTC)
        user = accounts.apply(
            data, name="Bench", email=f"bench-{os.getpid()}@uio.no", institution="UiO", purpose="bench",
            password="a long bench password", now=now,
        )  # fmt: skip
        accounts.decide(data, user, "approved", now)
        key = accounts.new_api_key(data, user, now)

        def direct() -> int:
            con = released_connection(data, 5)
            try:
                return len(con.execute(MONTH_QUERY).fetchall())
            finally:
                con.close()

        first_s, median_s, got = timed(direct, args.repeat)
        rows.append((f"month x {n} households by prefix and hour, DuckDB ({got} rows)",
                     f"{median_s:.2f} s (first {first_s:.2f})", "<= 2 s"))  # fmt: skip
        base_url = f"https://localhost:{server.port}"
        with httpx.Client(base_url=base_url, verify=ctx, timeout=120) as c:

            def api() -> int:
                r = c.post("/v1/query", json={"sql": MONTH_QUERY}, headers={"Authorization": f"Bearer {key}"})
                r.raise_for_status()
                return int(r.json()["row_count"])

            first_s, median_s, got = timed(api, args.repeat)
            rows.append((f"the same through POST /v1/query over HTTPS ({got} rows)",
                         f"{median_s:.2f} s (first {first_s:.2f})", "<= 2 s"))  # fmt: skip
            login = c.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
            assert csrf is not None
            r = c.post(
                "/login",
                data={
                    "csrf": csrf.group(1),
                    "email": f"bench-{os.getpid()}@uio.no",
                    "password": "a long bench password",
                },
            )
            assert r.status_code in (200, 303), r.status_code
            page = c.get("/query")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert token is not None
            pages: list[tuple[str, Callable[[], Any]]] = [
                ("portal: datasets page (coverage and quality of 4 datasets)", lambda: c.get("/datasets")),
                ("portal: SQL page", lambda: c.get("/query")),
                (
                    "portal: a query on the SQL page (prefixes)",
                    lambda: c.post("/query", data={"csrf": token.group(1), "sql": "SELECT * FROM prefixes"}),
                ),
            ]
            for name, fn in pages:
                first_s, median_s, response = timed(fn, args.repeat)
                assert response.status_code == 200, (name, response.status_code)
                rows.append((name, f"{median_s * 1000:.0f} ms (first {first_s * 1000:.0f})", "<= 200 ms"))
    finally:
        server.stop()
    load = os.getloadavg()
    print(f"\nresearchers' bench ({os.cpu_count()} cores, load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f})")
    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  {'measured (median)':>24}  target")
    for what, measured, target in rows:
        print(f"{what:<{width}}  {measured:>24}  {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
