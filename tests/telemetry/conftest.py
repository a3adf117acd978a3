"""A real HTTPS research server on localhost (its own CA, made here) and a household database."""

from __future__ import annotations

import gzip
import json
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hems.storage import SampleWriter, Storage, WriterSettings

TZ = ZoneInfo("Europe/Oslo")
TOKEN = "tok-household-42"

METER_ID = "7359992890123456"  #: the test meter's id: it must never appear in a batch


# ----- certificates -------------------------------------------------------------------------------
def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    cert_file: Path
    key_file: Path
    other_ca_file: Path  #: a CA that did not sign the server's certificate


def _ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca_key, ca = _ca("hems test research CA")
    _, other = _ca("some other CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (d / "ca.pem").write_bytes(ca.public_bytes(pem))
    (d / "other-ca.pem").write_bytes(other.public_bytes(pem))
    (d / "server.pem").write_bytes(cert.public_bytes(pem))
    (d / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Pki(d / "ca.pem", d / "server.pem", d / "server.key", d / "other-ca.pem")


# ----- the research server ------------------------------------------------------------------------
@dataclass
class Received:
    """What the server saw: every request, and what it stored (once per batch id)."""

    requests: list[tuple[str, str]] = field(default_factory=list)  #: (path, idempotency key)
    batches: dict[str, bytes] = field(default_factory=dict)  #: batch id → decompressed body
    raw_bodies: list[bytes] = field(default_factory=list)  #: every gzip'd body as it arrived
    deletions: list[str] = field(default_factory=list)  #: household ids
    duplicates: int = 0  #: batches received again after being stored


class ResearchServer:
    """An HTTPS server speaking the telemetry protocol of docs/telemetry.md."""

    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        self.token = TOKEN
        self.received = Received()
        self.drop_ack = 0  #: store the next N batches but answer 503 (an acknowledgement lost)
        self.redirect_to: str | None = None  #: answer every request with a 307 to this URL
        self.on_batch: Callable[[], None] | None = None  #: called (unlocked) before a batch's answer
        self.lock = threading.Lock()
        self.port = 0
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}/hems/v1"

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

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                key = self.headers.get("Idempotency-Key", "")
                with server.lock:
                    server.received.requests.append((self.path, key))
                    if server.redirect_to is not None:
                        self.send_response(307)
                        self.send_header("Location", server.redirect_to)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    if self.headers.get("Authorization") != f"Bearer {server.token}":
                        self._answer(401, {"error": "unknown token"})
                        return
                    if self.headers.get("Content-Encoding") != "gzip":
                        self._answer(415, {"error": "gzip expected"})
                        return
                    server.received.raw_bodies.append(raw)
                    doc = json.loads(gzip.decompress(raw))
                    if self.path == "/hems/v1/batches":
                        bid = doc["batch_id"]
                        if bid in server.received.batches:
                            server.received.duplicates += 1
                        else:
                            server.received.batches[bid] = gzip.decompress(raw)
                        hook = server.on_batch
                        if hook is not None:
                            server.lock.release()  # the hook may make requests of its own
                            try:
                                hook()
                            finally:
                                server.lock.acquire()
                        if server.drop_ack > 0:
                            server.drop_ack -= 1
                            self._answer(503, {"error": "busy"})
                            return
                        self._answer(200, {"batch_id": bid})
                    elif self.path == "/hems/v1/deletions":
                        server.received.deletions.append(doc["household_id"])
                        self._answer(202, {"household_id": doc["household_id"]})
                    else:
                        self._answer(404, {"error": "no such path"})

        httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.pki.cert_file, self.pki.key_file)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        self.port = httpd.server_address[1]
        self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        """Go down: the port refuses connections until `start` is called again."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


@pytest.fixture
def server(pki: Pki) -> Iterator[ResearchServer]:
    s = ResearchServer(pki)
    s.start()
    yield s
    s.stop()


# ----- the household's database -------------------------------------------------------------------
def household(t: datetime) -> dict[str, float]:
    """Channel values [W] (multiples of 10, so no value can spell a 4-digit postcode)."""
    h = t.astimezone(TZ).hour
    heater = 1500.0 if h < 6 else 0.0
    pv = 2000.0 if 10 <= h < 14 else 0.0
    net = heater + 300.0 - pv
    return {
        "grid.p_import_w": max(net, 0.0),
        "grid.p_export_w": max(-net, 0.0),
        "grid.e_import_kwh": 12345.5 + t.timestamp() / 1e6,  # a cumulative register: never sent
        "pv.p_w": pv,
        "circuit.heater.p_w": heater,
        "circuit.heater.i_a": heater / 230.0,
    }


@pytest.fixture
def household_db(tmp_path: Path) -> Path:
    """Five local days from 2026-03-01 at 5-min steps, with the meter id in the `meter` doc."""
    path = tmp_path / "hems.db"
    with Storage.open(path, timezone="Europe/Oslo") as st:
        st.put_doc("meter", {"meter_id": METER_ID, "meter_type": "Kamstrup"})
        writer = SampleWriter(st, WriterSettings(batch_cycles=5000, batch_seconds=1e9))
        t = datetime(2026, 3, 1, tzinfo=TZ).astimezone(UTC)
        end = datetime(2026, 3, 6, tzinfo=TZ).astimezone(UTC)
        while t < end:
            writer.add(t, household(t))
            t += timedelta(minutes=5)
        writer.close()
    return path
