"""The household API on a running box: latency, the phone page's first paint, the daemon's memory.

Runs `hems demo` (the daemon on the simulated household, 60x real time) with [api] over HTTPS on a
free loopback port, and once without [api] for comparison. Prints a table:

- live state p95 [ms] over 300 requests on one keep-alive connection (target <= 50), and p95 with a
  new TLS connection per request;
- a day of 1-min series, the month, and the 48-hour ESPI feed: one request each after the month's
  first request has warmed its cache;
- the page's first paint and first live data [ms] in headless Chromium (target first paint <= 1000);
- the daemon's resident memory with the API on, after every endpoint has been used, and without the
  API (target <= 80 MB).

Usage: python bench/api.py [--day 2026-01-15]
"""

from __future__ import annotations

import argparse
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).parents[1]
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_demo(tmp: Path, day: str, api_port: int | None) -> subprocess.Popen[bytes]:
    cfg = tmp / "hems.toml"
    text = f'[storage]\npath = "{tmp / "hems.db"}"\nbatch_cycles = 6\n'
    if api_port is not None:
        text += f'[api]\nhost = "127.0.0.1"\nport = {api_port}\n'
    cfg.write_text(text)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "hems", "demo", "--headless", "--quiet", "--config", str(cfg)]
    cmd += ["--db", str(tmp / "hems.db"), "--speed", "60", "--start", day, "--stop-after", "6h"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[18]


def page_times(url: str, token: str, runs: int = 5) -> tuple[float, float]:
    """Median first paint and first live data [ms] over ``runs`` fresh page loads."""
    from playwright.sync_api import expect, sync_playwright

    paints, datas = [], []
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    args += ["--disable-sync", "--no-first-run"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        for _ in range(runs):
            context = browser.new_context(ignore_https_errors=True, viewport={"width": 390, "height": 844})
            page = context.new_page()
            t0 = time.perf_counter()
            page.goto(f"{url}/#token={token}")
            expect(page.locator("#now-power")).not_to_have_text("—", timeout=10_000)
            datas.append((time.perf_counter() - t0) * 1000)
            paints.append(
                page.evaluate(
                    "performance.getEntriesByType('paint').find(e => e.name === 'first-paint').startTime"
                )
            )
            context.close()
        browser.close()
    return statistics.median(paints), statistics.median(datas)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--day", default="2026-01-15")
    args = ap.parse_args()
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        port = free_port()
        demo = start_demo(tmp, args.day, port)
        add = ["api", "token", "add", "--config", str(tmp / "hems.toml"), "--role", "member"]
        token = subprocess.run(
            [sys.executable, "-m", "hems", *add],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        secret = token.stdout.strip()
        url = f"https://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {secret}"}
        try:
            ca: ssl.SSLContext | None = None
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    ca = ca or ssl.create_default_context(cafile=str(tmp / "api" / "tls.crt"))
                    r = httpx.get(f"{url}/api/v1/live", headers=headers, verify=ca, timeout=5)
                    if r.json()["now"] and r.json()["now"]["import_w"] is not None:
                        break
                except (OSError, httpx.HTTPError, ValueError, KeyError, ssl.SSLError):
                    ca = None
                time.sleep(0.3)
            time.sleep(10)  # ten simulated minutes, as bench/footprint.py
            with httpx.Client(base_url=url, headers=headers, verify=ca) as c:
                c.get("/api/v1/live")
                times = []
                for _ in range(300):
                    t0 = time.perf_counter()
                    c.get("/api/v1/live").raise_for_status()
                    times.append((time.perf_counter() - t0) * 1000)
                rows.append(("live state p95, keep-alive", f"{p95(times):.1f} ms", "<= 50 ms"))
                rows.append(("live state median, keep-alive", f"{statistics.median(times):.1f} ms", ""))
                fresh = []
                for _ in range(50):
                    t0 = time.perf_counter()
                    httpx.get(f"{url}/api/v1/live", headers=headers, verify=ca).raise_for_status()
                    fresh.append((time.perf_counter() - t0) * 1000)
                rows.append(("live state p95, new TLS connection each", f"{p95(fresh):.1f} ms", ""))
                for name, path in (
                    ("1-min series of a day", "/api/v1/series?channel=grid.p_import_w&resolution=1m"),
                    ("the month (first request)", "/api/v1/month"),
                    ("the month (cached)", "/api/v1/month"),
                    ("48-hour ESPI feed", "/api/v1/espi"),
                    ("plan", "/api/v1/plan"),
                    ("alerts", "/api/v1/alerts"),
                ):
                    t0 = time.perf_counter()
                    c.get(path).raise_for_status()
                    rows.append((name, f"{(time.perf_counter() - t0) * 1000:.0f} ms", ""))
            paint, data = page_times(url, secret)
            rows.append(("page first paint (median of 5)", f"{paint:.0f} ms", "<= 1000 ms"))
            rows.append(("page first live data (median of 5)", f"{data:.0f} ms", ""))
            rows.append(
                ("daemon RSS with the API on (all endpoints used)", f"{rss_mb(demo.pid):.1f} MB", "<= 80 MB")
            )
        finally:
            demo.terminate()
            demo.wait(30)
    with tempfile.TemporaryDirectory() as t:
        plain = start_demo(Path(t), args.day, None)
        try:
            time.sleep(15)
            rows.append(("daemon RSS without [api]", f"{rss_mb(plain.pid):.1f} MB", ""))
        finally:
            plain.terminate()
            plain.wait(30)
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>10}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>10}  {target}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
