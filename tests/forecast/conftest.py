"""A real HTTP server on localhost that answers like api.met.no (fixture shared by the tests)."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parents[1] / "data" / "forecast" / "locationforecast-oslo-2026-06-21.json"
NOW = datetime(2026, 6, 20, 20, 40, tzinfo=UTC)


class MetServer:
    """What the fake api.met.no answers next, and what it was asked."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.status = 200
        self.gzip = True
        self.last_modified = "Sat, 20 Jun 2026 20:31:07 GMT"
        self.expires = NOW + timedelta(minutes=30)


@pytest.fixture
def met() -> Iterator[tuple[MetServer, str]]:
    state = MetServer()
    body = FIXTURE.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append({"path": self.path, **{k: v for k, v in self.headers.items()}})
            if state.status not in (200, 203):
                self.send_response(state.status)
                self.send_header("Expires", format_datetime(state.expires, usegmt=True))
                self.end_headers()
                return
            if self.headers.get("If-Modified-Since") == state.last_modified:
                self.send_response(304)
                self.send_header("Expires", format_datetime(state.expires, usegmt=True))
                self.end_headers()
                return
            payload = gzip.compress(body) if state.gzip else body
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            if state.gzip:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Last-Modified", state.last_modified)
            self.send_header("Expires", format_datetime(state.expires, usegmt=True))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/weatherapi/locationforecast/2.0/compact"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
