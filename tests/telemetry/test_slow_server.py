"""A research server that trickles (issue 15 item 7): the whole request is bounded, and a stuck
upload holds one thread of its own, never the pool the planner needs."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hems.clock import ManualClock
from hems.storage import Storage
from hems.telemetry import deidentify_site, transport
from hems.telemetry.job import telemetry_job
from tests.telemetry.test_upload import IDENTITY, config, morning


class Trickle:
    """A TLS server that answers every request one byte at a time, a byte every 0.2 s, for ever."""

    def __init__(self, pki) -> None:
        self.stop = threading.Event()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.cert_file, pki.key_file)
        listener = socket.create_server(("127.0.0.1", 0))
        self.listener = context.wrap_socket(listener, server_side=True)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.url = f"https://localhost:{self.port}/hems/v1"
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: ssl.SSLSocket) -> None:
        with contextlib.suppress(OSError):
            conn.settimeout(1.0)
            with contextlib.suppress(TimeoutError):
                conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000:
                if self.stop.is_set():
                    break
                conn.sendall(bytes([byte]))
                time.sleep(0.2)
        conn.close()


@pytest.fixture
def trickle(pki) -> Iterator[Trickle]:
    server = Trickle(pki)
    yield server
    server.stop.set()
    server.listener.close()


def test_a_trickling_server_is_cut_off_at_the_timeout(trickle: Trickle, pki) -> None:
    endpoint = transport.Endpoint(trickle.url, "tok", str(pki.ca_file), timeout_s=1.5)
    started = time.monotonic()
    with pytest.raises(transport.TransientError, match=r"no complete answer within 1\.5 s"):
        transport.post(endpoint, "/batches", b"x", "h-x/2026-03-01")
    # bounded by the deadline, not by the 100 000 bytes x 0.2 s the server would take
    assert time.monotonic() - started < 30


def test_a_stuck_upload_holds_one_thread_and_is_not_started_twice(
    trickle: Trickle, pki, household_db: Path
) -> None:
    server = type("S", (), {"url": trickle.url, "pki": pki})()
    cfg = config(server, IDENTITY, timeout_s=5)
    with Storage.open(household_db) as st:
        job = telemetry_job(
            cfg.telemetry,
            st,
            ManualClock(morning(datetime(2026, 3, 3, tzinfo=UTC).date())),
            deidentify_site(cfg.site),
        )

        async def attempts() -> list[bool]:
            first = asyncio.ensure_future(job(datetime.now(UTC)))
            await asyncio.sleep(0.5)
            again = [await job(datetime.now(UTC)) for _ in range(5)]  # hourly retries while stuck
            names = [t.name for t in threading.enumerate() if t.name.startswith("telemetry")]
            assert len(names) == 1, names
            await first
            return again

        assert asyncio.run(attempts()) == [False] * 5
    assert trickle.connections == 1
