"""Research-job test helpers: twin households' databases, job documents and an HTTPS job server
speaking docs/research-jobs.md (``GET /hems/v1/jobs``, ``POST /hems/v1/jobs/{id}/results``)."""

from __future__ import annotations

import gzip
import json
import sqlite3
import ssl
import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from devices.simulated import Household
from hems.storage import SampleWriter, Storage, WriterSettings
from research.jobs.signing import sign_job
from wire.jobs import LIST_SCHEMA, Job

TOKEN = "tok-household-21"
START = date(2026, 1, 12)  #: a Monday
DAYS = 2
METER_ID = "7359992890211221"


def twin_db(path: Path, seed: int, *, start: date = START, days: int = DAYS, step_s: int = 120) -> Path:
    """A household database from the twin's household model (seeded): 12 circuits and the grid
    import they add up to, one cycle every ``step_s``, with every rollup the daemon writes."""
    st = Storage.open(path, timezone="Europe/Oslo")
    writer = SampleWriter(st, WriterSettings(batch_cycles=1000, batch_seconds=1e9))
    house = Household(seed, "Europe/Oslo")
    t0 = datetime(start.year, start.month, start.day, tzinfo=ZoneInfo("Europe/Oslo")).astimezone(UTC)
    st.put_doc("meter", {"meter_id": METER_ID})  # a document: never readable by a job
    for i in range(days * 86400 // step_s + 1):
        t = t0 + timedelta(seconds=i * step_s)
        house.advance(t)
        circuits = house.circuit_power_w(t)
        values = {f"circuit.{k}.p_w": v for k, v in circuits.items()}
        values["grid.p_import_w"] = sum(circuits.values())
        values["grid.p_export_w"] = 0.0
        values["grid.e_import_kwh"] = 41_000.0 + i * 0.01  # a register: never in a job's copy
        writer.add(t, values)
    writer.close()
    st.close()
    return path


def job_doc(**changes: Any) -> dict[str, Any]:
    """A valid job: the mean grid import by local hour, with a count, histogram and quantiles."""
    doc: dict[str, Any] = {
        "schema": "hems-job/1",
        "id": "load-by-hour",
        "title": "Mean load by hour of day",
        "purpose": "How the evening peak differs between homes",
        "researcher": "A. Researcher, University of Stavanger",
        "categories": ["household"],
        "created_at": "2026-01-01T00:00:00+00:00",
        "expires_at": "2099-01-01T00:00:00+00:00",
        "period": {"start": START.isoformat(), "end": (START + timedelta(days=DAYS)).isoformat()},
        "channels": ["grid.p_import_w"],
        "sql": (
            "SELECT hour, AVG(mean) AS mean_w, COUNT(*) AS slots, MIN(mean) AS low, MAX(mean) AS high,"
            " histogram(mean) AS hist, quantiles(mean) AS q FROM series_15m"
            " WHERE channel = 'grid.p_import_w' GROUP BY hour"
        ),
        "keys": ["hour"],
        "outputs": [
            {"name": "mean_w", "kind": "mean"},
            {"name": "slots", "kind": "count"},
            {"name": "low", "kind": "min"},
            {"name": "high", "kind": "max"},
            {"name": "hist", "kind": "histogram", "edges": [0, 500, 1000, 2000, 4000, 8000]},
            {"name": "q", "kind": "quantiles", "q": [0.1, 0.5, 0.9]},
        ],
        "budget": {"cpu_seconds": 10, "rows_read": 1_000_000, "output_cells": 20_000, "memory_mb": 256},
        "k": 4,
        "privacy": None,
    }
    doc.update(changes)
    return doc


def make_job(**changes: Any) -> Job:
    return Job.from_dict(job_doc(**changes))


class JobServer:
    """An HTTPS research server offering signed jobs and storing the results posted to it."""

    def __init__(self, pki: Any) -> None:
        self.pki = pki
        self.offered: list[dict[str, Any]] = []  #: hems-signed-job/1 documents
        self.results: dict[str, dict[str, Any]] = {}  #: job id → result document
        self.raw_results: list[bytes] = []
        self.requests: list[tuple[str, str]] = []
        self.busy_posts = False  #: answer result posts 503 (the result stays on the box)
        self.lock = threading.Lock()
        self.port = 0
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}/hems/v1"

    def offer(self, job: Job, key: Any) -> None:
        self.offered.append(sign_job(job, key).to_dict())

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._answer(401, {"error": "unknown token"})
                    return False
                return True

            def do_GET(self) -> None:
                with server.lock:
                    server.requests.append(("GET", self.path))
                    if not self._authorised():
                        return
                    if self.path == "/hems/v1/jobs":
                        self._answer(200, {"schema": LIST_SCHEMA, "jobs": server.offered})
                    else:
                        self._answer(404, {"error": "no such path"})

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with server.lock:
                    server.requests.append(("POST", self.path))
                    if not self._authorised():
                        return
                    parts = self.path.split("/")
                    if server.busy_posts:
                        self._answer(503, {"error": "busy"})
                    elif self.path.startswith("/hems/v1/jobs/") and parts[-1] == "results":
                        server.raw_results.append(raw)
                        doc = json.loads(gzip.decompress(raw))
                        server.results[parts[-2]] = doc
                        self._answer(200, {"job_id": parts[-2]})
                    else:
                        self._answer(404, {"error": "no such path"})

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.pki.cert_file, self.pki.key_file)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        self.port = httpd.server_address[1]
        self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


CHANNEL = "grid.p_import_w"
TZ = ZoneInfo("Europe/Oslo")


def central_store(homes: list[Path]) -> sqlite3.Connection:
    """What a research server holding every home's 15-min data would have: one table of all homes,
    read through the storage read API and given local hours here (independently of the box's views)."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE series_15m (home TEXT, t INTEGER, hour INTEGER, channel TEXT, mean REAL)")
    start = datetime(START.year, START.month, START.day, tzinfo=TZ).astimezone(UTC)
    end = start + timedelta(days=DAYS)
    for path in homes:
        with Storage.open(path, readonly=True) as st:
            points = st.series(CHANNEL, start, end, "15m")
        closed = [p for p in points if p.time + timedelta(minutes=15) <= end]
        db.executemany(
            "INSERT INTO series_15m VALUES (?, ?, ?, ?, ?)",
            [
                (path.stem, int(p.time.timestamp()), p.time.astimezone(TZ).hour, CHANNEL, p.mean)
                for p in closed
            ],
        )
    return db
