"""One connection for an upload round (keep-alive): a backlog costs one TLS handshake, and a kept
connection the server closed while idle is replaced without losing or doubling a batch."""

from __future__ import annotations

import gzip
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from hems.telemetry import transport
from tests.telemetry.conftest import Pki

TOKEN = "hems-keepalive-token"


class KeepAliveServer:
    """HTTP/1.1 over TLS; ``close_after`` > 0: the server closes a connection after that many
    answers without saying so (as an idle timeout on a real server does)."""

    def __init__(self, pki: Pki, close_after: int = 0) -> None:
        self.connections = 0
        self.stored: dict[str, int] = {}  # batch id -> times received
        self.close_after = close_after
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                server.connections += 1
                self.answered = 0

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                doc = json.loads(gzip.decompress(raw))
                bid = doc["batch_id"]
                server.stored[bid] = server.stored.get(bid, 0) + 1
                data = json.dumps({"batch_id": bid}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.answered += 1
                if server.close_after and self.answered >= server.close_after:
                    self.close_connection = True  # no "Connection: close": the client cannot know

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.cert_file, pki.key_file)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def endpoint(self, pki: Pki) -> transport.Endpoint:
        port = self.httpd.server_address[1]
        url = f"https://localhost:{port}/v1"
        return transport.Endpoint(url, TOKEN, ca_file=str(pki.ca_file), timeout_s=10)


@pytest.fixture
def make_server(pki: Pki) -> Iterator[Any]:
    made: list[KeepAliveServer] = []

    def make(close_after: int = 0) -> KeepAliveServer:
        made.append(KeepAliveServer(pki, close_after))
        return made[-1]

    yield make
    for s in made:
        s.httpd.shutdown()
        s.httpd.server_close()


def _body(bid: str) -> bytes:
    return gzip.compress(json.dumps({"batch_id": bid}).encode())


def test_a_backlog_goes_over_one_connection(make_server: Any, pki: Pki) -> None:
    server = make_server()
    with transport.Session(server.endpoint(pki)) as session:
        for day in range(1, 11):
            transport.send_batch(server.endpoint(pki), f"b{day}", _body(f"b{day}"), session)
    assert session.connections == 1 and server.connections == 1
    assert server.stored == {f"b{d}": 1 for d in range(1, 11)}


def test_a_connection_the_server_closed_is_replaced_and_nothing_is_lost(make_server: Any, pki: Pki) -> None:
    server = make_server(close_after=3)
    endpoint = server.endpoint(pki)
    with transport.Session(endpoint) as session:
        for day in range(1, 11):
            transport.send_batch(endpoint, f"b{day}", _body(f"b{day}"), session)
    assert server.stored == {f"b{d}": 1 for d in range(1, 11)}  # each batch once: none lost, none twice
    assert session.connections == server.connections == 4  # 3 + 3 + 3 + 1


def test_without_a_session_each_request_has_its_own_connection(make_server: Any, pki: Pki) -> None:
    server = make_server()
    for day in range(1, 4):
        transport.send_batch(server.endpoint(pki), f"b{day}", _body(f"b{day}"))
    assert server.connections == 3
