"""HTTPS to the research server: gzip'd JSON POSTs with a bearer token, TLS always verified.

Protocol (documented for the server side in docs/telemetry.md):

- ``POST {endpoint}/batches``: body = gzip(JSON batch), ``Content-Encoding: gzip``,
  ``Idempotency-Key: <batch_id>``. The server answers 2xx with JSON ``{"batch_id": "<id>"}``;
  a repeated id is acknowledged again and stored once.
- ``POST {endpoint}/deletions``: body = gzip(JSON ``{"household_id", "requested_at"}``); the server
  answers 2xx with ``{"household_id": "<id>"}`` and deletes everything it holds under that id.
- A `Session` keeps one connection across the requests of one upload round (HTTP keep-alive): a
  backlog of days costs one TLS handshake. A request on a kept connection the server has closed
  meanwhile is sent once more on a new one (every request here is idempotent: a batch carries its
  Idempotency-Key, a deletion may be asked twice).
- 401/403: the token is wrong or revoked (`TokenRejected`); 5xx, timeouts and network errors are
  transient (`TransientError`); any other status is `ServerRefused`. Redirects are not followed
  (they would carry the token elsewhere): a 3xx is `ServerRefused`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import threading
import urllib.parse
from dataclasses import dataclass

from hems import __version__


class TransportError(Exception):
    """The request did not produce an acknowledgement."""


class TransientError(TransportError):
    """Server or network trouble that a later attempt may not have (5xx, timeout, refused)."""


class TokenRejected(TransportError):
    """The server refused the household's token (HTTP 401/403): uploads stop until it is fixed."""


class ServerRefused(TransportError):
    """The server answered with a client error other than 401/403 (e.g. 400, 413, 422)."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach the research server."""

    url: str  #: base URL, https://...
    token: str
    ca_file: str | None = None  #: PEM bundle to trust instead of the system's CAs
    timeout_s: float = 30.0  #: [s]

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying TLS context (hostname and chain checked), with the custom CA if given."""
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise TransportError(f"cannot load telemetry.ca_file {self.ca_file!r}: {exc}") from None


#: the most of an answer read [B]: acknowledgements and job lists are small
MAX_ANSWER_BYTES = 4 * 1024 * 1024


class Session:
    """One HTTPS connection to ``endpoint``, kept open between requests until `close`."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.connections = 0  #: connections opened so far (TLS handshakes)
        self._conn: http.client.HTTPSConnection | None = None

    def connection(self) -> tuple[http.client.HTTPSConnection, bool]:
        """The kept connection (True: it has carried a request before) or a new one."""
        if self._conn is not None:
            return self._conn, True
        url = urllib.parse.urlsplit(self.endpoint.url)
        self._conn = _connect(self.endpoint, url)
        self.connections += 1
        return self._conn, False

    def drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    close = drop

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connect(endpoint: Endpoint, url: urllib.parse.SplitResult) -> http.client.HTTPSConnection:
    if url.scheme != "https" or not url.hostname:
        raise ServerRefused(f"not an https URL: {endpoint.url!r}")
    return http.client.HTTPSConnection(
        url.hostname, url.port or 443, context=endpoint.ssl_context(), timeout=endpoint.timeout_s
    )


def post(
    endpoint: Endpoint, path: str, body_gz: bytes, idempotency_key: str, session: Session | None = None
) -> dict[str, object]:
    """POST a gzip'd JSON body to ``endpoint.url + path``; the parsed JSON answer (a dict)."""
    headers = {
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        "Idempotency-Key": idempotency_key,
    }
    return _exchange(endpoint, "POST", path, headers, body_gz, session=session)[1]


def get(endpoint: Endpoint, path: str) -> dict[str, object]:
    """GET ``endpoint.url + path`` (e.g. the research jobs on offer); the parsed JSON answer (a dict).
    Errors as for `post`."""
    return _exchange(endpoint, "GET", path, {"Accept": "application/json"}, None)[1]


def get_refusable(endpoint: Endpoint, path: str) -> tuple[int, dict[str, object]]:
    """GET where a 403 or 404 is an answer, not a failure (the comparison below k): the status and
    the JSON (``{"error": reason}`` for a refusal). 401 is `TokenRejected`; other errors as `post`."""
    return _exchange(endpoint, "GET", path, {"Accept": "application/json"}, None, accept=(403, 404))


def _exchange(
    endpoint: Endpoint,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    accept: tuple[int, ...] = (),
    session: Session | None = None,
) -> tuple[int, dict[str, object]]:
    """One request, bounded as a whole by ``endpoint.timeout_s``: a server that trickles a byte now
    and then is cut off at the deadline (a socket timeout alone bounds each read, not the request).
    Redirects are never followed: they would resend the bearer token to another URL."""
    url = urllib.parse.urlsplit(endpoint.url + path)
    if session is None:
        return _once(endpoint, _connect(endpoint, url), False, url, method, headers, body, accept, None)
    conn, reused = session.connection()
    try:
        return _once(endpoint, conn, reused, url, method, headers, body, accept, session)
    except _Stale:  # the server closed the kept connection while it was idle: once more, new
        conn, _ = session.connection()
        return _once(endpoint, conn, False, url, method, headers, body, accept, session)


class _Stale(Exception):
    """A kept connection failed before any answer came: the server had closed it."""


def _once(
    endpoint: Endpoint,
    conn: http.client.HTTPSConnection,
    reused: bool,
    url: urllib.parse.SplitResult,
    method: str,
    headers: dict[str, str],
    body: bytes | None,
    accept: tuple[int, ...],
    session: Session | None,
) -> tuple[int, dict[str, object]]:
    expired = threading.Event()

    def cut() -> None:  # at the deadline: whatever the connection is waiting for ends now
        expired.set()
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(endpoint.timeout_s, cut)
    timer.daemon = True
    timer.start()
    target = url.path + (f"?{url.query}" if url.query else "")
    keep = False
    try:
        all_headers = {
            **headers,
            "Authorization": f"Bearer {endpoint.token}",
            "User-Agent": f"hems/{__version__}",
        }
        conn.request(method, target, body=body, headers=all_headers)
        response = conn.getresponse()
        raw = response.read(MAX_ANSWER_BYTES + 1)
        status = response.status
        keep = session is not None and not response.will_close and response.isclosed()
    except (OSError, http.client.HTTPException) as exc:
        if reused and not expired.is_set() and _closed_by_server(exc):
            raise _Stale() from None
        if expired.is_set():
            raise TransientError(
                f"{endpoint.url}: no complete answer within {endpoint.timeout_s:g} s (telemetry.timeout_s)"
            ) from None
        reason = getattr(exc, "reason", None) or exc
        raise TransientError(f"cannot reach {endpoint.url}: {reason}") from None
    finally:
        timer.cancel()
        if not keep or expired.is_set():
            conn.close()
            if session is not None:
                session.drop()
    if expired.is_set():
        raise TransientError(f"{endpoint.url}: no complete answer within {endpoint.timeout_s:g} s")
    if status >= 300 and status not in accept:
        _raise_for(status, _detail(raw))
    if len(raw) > MAX_ANSWER_BYTES:
        raise TransientError("research server answered with more than 4 MiB")
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise TransientError("research server answered with something other than JSON") from None
    if not isinstance(answer, dict):
        raise TransientError("research server answered with JSON that is not an object")
    return status, answer


def _closed_by_server(exc: BaseException) -> bool:
    """The kind of failure a kept connection closed by the server gives on its next request."""
    return isinstance(
        exc, http.client.RemoteDisconnected | BrokenPipeError | ConnectionResetError | ssl.SSLEOFError
    )


def _raise_for(status: int, detail: str) -> None:
    if status in (401, 403):
        raise TokenRejected(
            f"the research server rejected the token (HTTP {status}{detail}); "
            "check telemetry.token in the config"
        )
    if status >= 500 or status in (408, 425, 429):
        raise TransientError(f"research server error HTTP {status}{detail}")
    raise ServerRefused(f"research server refused the request: HTTP {status}{detail}")


def _detail(raw: bytes) -> str:
    text = raw[:300].decode("utf-8", "replace").strip()
    return f": {text}" if text else ""


def send_batch(endpoint: Endpoint, batch_id: str, body_gz: bytes, session: Session | None = None) -> None:
    """Send one batch; returns only when the server's acknowledgement names ``batch_id``."""
    answer = post(endpoint, "/batches", body_gz, batch_id, session)
    if answer.get("batch_id") != batch_id:
        raise TransientError(
            f"research server acknowledged {answer.get('batch_id')!r}, not the batch sent ({batch_id!r})"
        )


def send_deletion(
    endpoint: Endpoint, household_id: str, body_gz: bytes, session: Session | None = None
) -> None:
    """Send a deletion request; returns only when the server's answer names ``household_id``."""
    answer = post(endpoint, "/deletions", body_gz, f"deletion:{household_id}", session)
    if answer.get("household_id") != household_id:
        raise TransientError(
            f"research server confirmed deletion of {answer.get('household_id')!r}, not {household_id!r}"
        )
