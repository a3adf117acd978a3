"""Killing the server (SIGKILL) mid-ingest loses no batch it had acknowledged, and the batches sent
again afterwards are stored once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from research_testing import Uploader, batch, household_id

from research.enrol import enrol
from research.paths import DataDir
from research.store.released import released_connection

START = date(2025, 11, 20)  # 40 days across a month boundary: compaction happens mid-run too


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(data: Path, port: int, pki: Any, workers: int = 1) -> subprocess.Popen[bytes]:
    log = data.parent / "serve.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hems",
                "research",
                "serve",
                "--data",
                str(data),
                "--port",
                str(port),
                "--cert",
                str(pki.cert_file),
                "--key",
                str(pki.key_file),
                "--workers",
                str(workers),
            ],
            stdout=out,
            stderr=out,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.05)
    raise AssertionError("the server did not start")


def test_no_acknowledged_batch_is_lost_when_the_server_is_killed(tmp_path: Path, pki: Any) -> None:
    data = DataDir(tmp_path / "research").ensure()
    enrolled = enrol(data, "1081", now=datetime.now(UTC))
    port = free_port()
    up = Uploader(f"https://localhost:{port}/v1", enrolled.token, pki.ca_file)
    hid = household_id()
    docs = [batch(hid, START + timedelta(days=n), seed=n / 100) for n in range(40)]
    acked: list[str] = []

    def send_all() -> None:
        for doc in docs:
            try:
                answer = up.send(doc)
            except httpx.HTTPError:
                return
            if answer.status_code == 200 and answer.json() == {"batch_id": doc["batch_id"]}:
                acked.append(doc["batch_id"])

    proc = serve(data.root, port, pki)
    sender = threading.Thread(target=send_all)
    sender.start()
    while len(acked) < 12 and sender.is_alive():
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    sender.join()
    assert 12 <= len(acked) < 40

    proc = serve(data.root, port, pki)  # it repairs what the kill left
    try:
        con = released_connection(data, 1)
        stored = {r[0] for r in con.execute("SELECT batch_id FROM batches").fetchall()}
        assert set(acked) <= stored
        for doc in docs:  # the box sends again what it has no acknowledgement for (and more)
            assert up.send(doc).status_code == 200
        con = released_connection(data, 1)
        assert con.execute("SELECT count(*), count(DISTINCT batch_id) FROM batches").fetchone() == (40, 40)
        assert con.execute("SELECT count(*) FROM readings").fetchone() == (sum(5 * 96 for _ in docs),)
    finally:
        proc.terminate()
        proc.wait(10)


def test_two_worker_processes_store_every_batch_once(tmp_path: Path, pki: Any) -> None:
    """`--workers 2`: batches of 5 households arrive at once, each twice; every day is stored once,
    the finished month is compacted, nothing is left staged, and a resignation removes it all."""
    from concurrent.futures import ThreadPoolExecutor

    from research.resign import resign

    data = DataDir(tmp_path / "research").ensure()
    homes = [(enrol(data, "1081", now=datetime.now(UTC)), household_id()) for _ in range(5)]
    port = free_port()
    url = f"https://localhost:{port}/v1"
    docs = [
        (Uploader(url, e.token, pki.ca_file), batch(hid, START + timedelta(days=n)))
        for n in range(12)
        for e, hid in homes
    ]
    proc = serve(data.root, port, pki, workers=2)
    try:
        with ThreadPoolExecutor(6) as pool:
            codes = list(pool.map(lambda item: item[0].send(item[1]).status_code, docs + docs))
        assert set(codes) == {200}
        con = released_connection(data, 1)
        assert con.execute("SELECT count(*), count(DISTINCT batch_id) FROM batches").fetchone() == (60, 60)
        assert con.execute("SELECT count(*) FROM readings").fetchone() == (60 * 5 * 96,)
        assert list(data.store.glob("readings/household=*/month=2025-11/month-*.parquet"))  # compacted
        assert not list(data.staging.glob("*"))
    finally:
        proc.terminate()
        proc.wait(10)
    now = datetime.now(UTC)
    resign(data, homes[0][0].enrolment, requested_by="administrator", requested_at=now, now=now)
    assert not [p for p in data.root.rglob("*") if homes[0][1] in str(p)]
