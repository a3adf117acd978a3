"""The box's OCPP central system: one websocket server for OCPP 1.6J and 2.0.1 charge points.

`CentralSystem` listens (``ws://`` or, with a certificate, ``wss://``) for charge points at
``/<charge point id>`` and accepts the subprotocols ``ocpp2.0.1`` and ``ocpp1.6`` (the charger's
first choice wins); each charge point must present its own password with HTTP basic auth (security
profile 1 over ws, 2 over TLS), anything else is refused before the websocket opens and reported.
The session answering a charger is the version's (`ocpp16.session_class`, `ocpp201.session_class`);
both drive the same `OcppCharger`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import ssl
from datetime import UTC, datetime
from typing import Any

from devices.appliances.drivers.ocpp_charger import OcppCharger

log = logging.getLogger(__name__)

SUBPROTOCOLS = ("ocpp2.0.1", "ocpp1.6")


class CentralSystem:
    """The box's OCPP server (see the module docstring)."""

    def __init__(
        self,
        host: str,
        port: int,
        chargers: dict[str, tuple[OcppCharger, str | None]],
        clock: Any = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.chargers = chargers  #: charge point id → (charger, its password; None: no auth)
        self.clock = clock
        self.refused: list[str] = []  #: why connections were refused (events)
        self._server: Any = None

    def _now(self) -> datetime:
        return self.clock.now() if self.clock is not None else datetime.now(UTC)

    async def start(self) -> None:
        from websockets.asyncio.server import serve
        from websockets.typing import Subprotocol

        self._server = await serve(
            self._handler,
            self.host,
            self.port,
            subprotocols=[Subprotocol(p) for p in SUBPROTOCOLS],
            process_request=self._check,
            ssl=self.tls,
        )
        if self.port == 0:
            self.port = next(iter(self._server.sockets)).getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        for charger, _ in self.chargers.values():
            charger.close()

    def _refuse(self, why: str) -> None:
        log.warning("OCPP: %s", why)
        self.refused.append(why)

    def _check(self, connection: Any, request: Any) -> Any:
        import base64
        import hmac
        from http import HTTPStatus

        cp_id = request.path.strip("/").rsplit("/", 1)[-1]
        known = self.chargers.get(cp_id)
        if known is None:
            self._refuse(f"unknown charge point {cp_id!r} refused")
            return connection.respond(HTTPStatus.NOT_FOUND, "unknown charge point\n")
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        if not any(p.strip() in SUBPROTOCOLS for p in offered.split(",")):
            self._refuse(
                f"charge point {cp_id!r} refused: it speaks {offered or 'no OCPP'}, not ocpp1.6 or ocpp2.0.1"
            )
            return connection.respond(HTTPStatus.BAD_REQUEST, "speak ocpp1.6 or ocpp2.0.1\n")
        password = known[1]
        if password is None:
            return None
        header = request.headers.get("Authorization", "")
        try:
            user, _, given = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            user, given = "", ""
        if user != cp_id or not hmac.compare_digest(given.encode(), password.encode()):
            self._refuse(f"charge point {cp_id!r} refused: wrong credentials")
            response = connection.respond(HTTPStatus.UNAUTHORIZED, "wrong credentials\n")
            response.headers["WWW-Authenticate"] = 'Basic realm="hems"'
            return response
        return None

    async def _handler(self, connection: Any) -> None:
        import importlib

        cp_id = connection.request.path.strip("/").rsplit("/", 1)[-1]
        charger = self.chargers[cp_id][0]
        name = "ocpp201" if connection.subprotocol == "ocpp2.0.1" else "ocpp16"
        version = importlib.import_module(f"devices.appliances.drivers.{name}")
        session = version.session_class()(cp_id, connection, charger, self._now)
        charger.connected(session)
        try:
            await session.start()
        except Exception as exc:  # a closed socket, or a charger that spoke nonsense
            log.info("OCPP: charge point %s went away: %s", cp_id, type(exc).__name__)
        finally:
            if charger.wire is session:
                charger.connected(None)


@functools.cache
def session_base() -> Any:
    """What the 1.6 and 2.0.1 sessions share (mixed in before the version's ChargePoint): the
    charger they answer for, boot and heartbeat, and the charging profile's schedule (the version
    wraps it: ``profile_call``). Built on first use: ocpp loads lazily."""
    from ocpp.routing import on

    from devices.appliances.drivers.ocpp_charger import OVERRIDE

    class SessionBase:
        results: Any  #: the version's call_result module

        def __init__(self, cp_id: str, connection: Any, charger: OcppCharger, now: Any) -> None:
            super().__init__(cp_id, connection, response_timeout=10)  # type: ignore[call-arg]
            self.charger, self.now = charger, now

        async def ask(self, request: Any) -> str:
            """Send ``request``; the answer's status."""
            res = await self.call(request)  # type: ignore[attr-defined]
            return str(getattr(res, "status", "an error"))

        def profile_call(self, pid: int, profile: dict[str, Any], schedule: dict[str, Any]) -> Any:
            """The version's SetChargingProfile of ``profile`` (without its id) and ``schedule``."""
            raise NotImplementedError

        async def set_profile(
            self, pid: int, start: datetime | None, periods: list[tuple[int, float]], unit: str, phases: int
        ) -> str:
            n = phases if unit == "A" else None
            schedule = {
                "charging_rate_unit": unit,
                "charging_schedule_period": [
                    {"start_period": s, "limit": v, "number_phases": n} for s, v in periods
                ],
                "start_schedule": start.isoformat() if start is not None else None,
            }
            profile = {
                "stack_level": pid,
                "charging_profile_purpose": "TxDefaultProfile",  # TxProfile needs a transaction
                "charging_profile_kind": "Relative" if pid == OVERRIDE else "Absolute",
            }
            return await self.ask(self.profile_call(pid, profile, schedule))

        @on("BootNotification")
        def boot(self, **_: Any) -> Any:
            self.charger.heard = self.now()
            return self.results.BootNotification(
                current_time=self.now().isoformat(), interval=60, status="Accepted"
            )

        @on("Heartbeat")
        def heartbeat(self, **_: Any) -> Any:
            self.charger.heard = self.now()
            return self.results.Heartbeat(current_time=self.now().isoformat())

    return SessionBase
