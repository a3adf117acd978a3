"""HTTPS to the research server: gzip'd JSON POSTs with a bearer token, TLS always verified.

Protocol (documented for the server side in docs/telemetry.md):

- ``POST {endpoint}/batches``: body = gzip(JSON batch), ``Content-Encoding: gzip``,
  ``Idempotency-Key: <batch_id>``. The server answers 2xx with JSON ``{"batch_id": "<id>"}``;
  a repeated id is acknowledged again and stored once.
- ``POST {endpoint}/deletions``: body = gzip(JSON ``{"household_id", "requested_at"}``); the server
  answers 2xx with ``{"household_id": "<id>"}`` and deletes everything it holds under that id.
- 401/403: the token is wrong or revoked (`TokenRejected`); 5xx, timeouts and network errors are
  transient (`TransientError`); any other status is `ServerRefused`. Redirects are not followed
  (they would carry the token elsewhere): a 3xx is `ServerRefused`.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are refused: following one would resend the bearer token to another URL."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def post(endpoint: Endpoint, path: str, body_gz: bytes, idempotency_key: str) -> dict[str, object]:
    """POST a gzip'd JSON body to ``endpoint.url + path``; the parsed JSON answer (a dict)."""
    request = urllib.request.Request(
        endpoint.url + path,
        data=body_gz,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Authorization": f"Bearer {endpoint.token}",
            "Idempotency-Key": idempotency_key,
            "User-Agent": f"hems/{__version__}",
        },
    )
    return _exchange(endpoint, request)


def get(endpoint: Endpoint, path: str) -> dict[str, object]:
    """GET ``endpoint.url + path`` (e.g. the research jobs on offer); the parsed JSON answer (a dict).
    Errors as for `post`."""
    request = urllib.request.Request(
        endpoint.url + path,
        method="GET",
        headers={
            "Accept": "application/json",
            "Authorization": f"Bearer {endpoint.token}",
            "User-Agent": f"hems/{__version__}",
        },
    )
    return _exchange(endpoint, request)


def _exchange(endpoint: Endpoint, request: urllib.request.Request) -> dict[str, object]:
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=endpoint.ssl_context()), _NoRedirect()
    )
    try:
        with opener.open(request, timeout=endpoint.timeout_s) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        detail = _detail(exc)
        if exc.code in (401, 403):
            raise TokenRejected(
                f"the research server rejected the token (HTTP {exc.code}{detail}); "
                "check telemetry.token in the config"
            ) from None
        if exc.code >= 500 or exc.code in (408, 425, 429):
            raise TransientError(f"research server error HTTP {exc.code}{detail}") from None
        raise ServerRefused(f"research server refused the request: HTTP {exc.code}{detail}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TransientError(f"cannot reach {endpoint.url}: {reason}") from None
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise TransientError("research server answered with something other than JSON") from None
    if not isinstance(answer, dict):
        raise TransientError("research server answered with JSON that is not an object")
    return answer


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(300).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return f": {text}" if text else ""


def send_batch(endpoint: Endpoint, batch_id: str, body_gz: bytes) -> None:
    """Send one batch; returns only when the server's acknowledgement names ``batch_id``."""
    answer = post(endpoint, "/batches", body_gz, batch_id)
    if answer.get("batch_id") != batch_id:
        raise TransientError(
            f"research server acknowledged {answer.get('batch_id')!r}, not the batch sent ({batch_id!r})"
        )


def send_deletion(endpoint: Endpoint, household_id: str, body_gz: bytes) -> None:
    """Send a deletion request; returns only when the server's answer names ``household_id``."""
    answer = post(endpoint, "/deletions", body_gz, f"deletion:{household_id}")
    if answer.get("household_id") != household_id:
        raise TransientError(
            f"research server confirmed deletion of {answer.get('household_id')!r}, not {household_id!r}"
        )
