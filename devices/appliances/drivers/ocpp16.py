"""EV chargers over OCPP 1.6J: the box is the central system (the `ocpp` package over websockets).

`CentralSystem` listens (``ws://`` or, with a certificate, ``wss://``) for charge points at
``/<charge point id>``; each must present its own password with HTTP basic auth (security profile
1 over ws, 2 over TLS), anything else is refused before the websocket opens and reported. Per
charge point it answers BootNotification, Heartbeat, StatusNotification, Authorize,
Start/StopTransaction and MeterValues (``Power.Active.Import``: the charger's circuit reading).

`OcppCharger` is the `Actuator` of one charger: a commanded power becomes a SetChargingProfile
(TxDefaultProfile, stack level 1) in A per phase or W, sent at once, so lowering the limit on an
overload warning takes effect within the cycle; a plugged car with no transaction gets a
RemoteStartTransaction when the plan wants power. After an accepted profile, and when a session
begins, a TriggerMessage asks for MeterValues at once (no wait for the charger's metering interval).
A rejected profile or a charger drawing more than its limit is a problem, and `base.Follow` makes it
a fault. `OcppSession` turns the connector's state into the household's need: a car plugged in
wants ``session_kwh`` by ``ready_by``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devices.appliances.device import Need
from devices.appliances.drivers.base import Reading

log = logging.getLogger(__name__)

PLUGGED = {"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"}
STALE_S = 300.0  #: no word from a charger for this long: its reading is dropped [s]


class OcppCharger:
    """One charger's `Actuator` (see the module docstring)."""

    def __init__(
        self,
        appliance_id: str,
        cp_id: str,
        max_w: float,
        *,
        phases: int = 3,
        voltage_v: float = 230.0,
        unit: str = "A",
        connector: int = 1,
    ) -> None:
        self.id = appliance_id
        self.cp_id = cp_id
        self.max_w = max_w
        self.phases = phases
        self.voltage_v = voltage_v
        self.unit = unit
        self.connector = connector
        self.session: Any = None  #: the connected `_Session`, if any
        self.status: str | None = None  #: the connector's last StatusNotification
        self.plugged_at: datetime | None = None
        self.transaction: int | None = None
        self.p_w: float | None = None
        self.energy_wh: float | None = None
        self.heard: datetime | None = None
        self.limit_w: float | None = None  #: the last limit the charger accepted [W]
        self.want_w: float | None = None
        self._sent_w: float | None = None
        self._problems: list[str] = []
        self._task: asyncio.Task[None] | None = None

    def problem(self, text: str) -> None:
        log.warning("%s", text)
        self._problems.append(text)

    def problems(self) -> list[str]:
        out, self._problems = self._problems, []
        return out

    # the Actuator
    def command(self, now: datetime, w: float | None) -> None:
        self.want_w = self.max_w if w is None else max(0.0, min(w, self.max_w))
        self._kick()

    def _kick(self) -> None:
        """Send what is wanted now, on the loop, without waiting for the answer."""
        if self.session is None or self.want_w is None or self.want_w == self._sent_w:
            return
        if self._task is not None and not self._task.done():
            self._task.add_done_callback(lambda _t: self._kick())
            return
        self._sent_w = self.want_w
        self._task = asyncio.get_running_loop().create_task(self._send(self.want_w))

    async def _send(self, w: float) -> None:
        from ocpp.v16 import call
        from ocpp.v16.datatypes import ChargingProfile, ChargingSchedule, ChargingSchedulePeriod
        from ocpp.v16.enums import (
            ChargingProfileKindType,
            ChargingProfilePurposeType,
            ChargingProfileStatus,
            ChargingRateUnitType,
        )

        session = self.session
        if session is None:
            return
        if self.unit == "A":
            limit = round(w / (self.voltage_v * self.phases), 1)
            period = ChargingSchedulePeriod(start_period=0, limit=limit, number_phases=self.phases)
            unit = ChargingRateUnitType.amps
        else:
            period = ChargingSchedulePeriod(start_period=0, limit=round(w))
            unit = ChargingRateUnitType.watts
        profile = ChargingProfile(
            charging_profile_id=1,
            stack_level=1,
            charging_profile_purpose=ChargingProfilePurposeType.tx_default_profile,
            charging_profile_kind=ChargingProfileKindType.relative,
            charging_schedule=ChargingSchedule(charging_rate_unit=unit, charging_schedule_period=[period]),
        )
        try:
            res = await session.call(
                call.SetChargingProfile(connector_id=self.connector, cs_charging_profiles=profile)
            )
            if res is None or res.status != ChargingProfileStatus.accepted:
                status = getattr(res, "status", "an error")
                self.problem(f"{self.id}: charger {self.cp_id} answered {status} to a limit of {w:.0f} W")
                return
            self.limit_w = w
            await self.trigger_meter()
            if w > 0 and self.transaction is None and self.status in ("Preparing", "SuspendedEVSE"):
                start = await session.call(
                    call.RemoteStartTransaction(id_tag="hems", connector_id=self.connector)
                )
                if start is None or start.status != "Accepted":
                    self.problem(f"{self.id}: charger {self.cp_id} refused to start charging")
        except (TimeoutError, ConnectionError, OSError) as exc:
            self.problem(
                f"{self.id}: charger {self.cp_id} did not take its limit: {exc or type(exc).__name__}"
            )
            self._sent_w = None  # tried again at the next command or connection
        except Exception as exc:  # a protocol error from the charger: reported, never raised
            self.problem(f"{self.id}: charger {self.cp_id}: {type(exc).__name__}: {exc}")

    async def trigger_meter(self) -> None:
        """Ask for MeterValues at once, so the read-back does not wait for the charger's interval."""
        from ocpp.v16 import call
        from ocpp.v16.enums import MessageTrigger

        if self.session is not None:
            trigger = call.TriggerMessage(
                requested_message=MessageTrigger.meter_values, connector_id=self.connector
            )
            with contextlib.suppress(Exception):  # a charger without TriggerMessage meters on its own
                await self.session.call(trigger)

    async def stop_charging(self) -> None:
        """RemoteStopTransaction for the running transaction (the household's "stop now")."""
        from ocpp.v16 import call

        if self.session is not None and self.transaction is not None:
            await self.session.call(call.RemoteStopTransaction(transaction_id=self.transaction))

    def poll(self, now: datetime) -> Reading | None:
        if self.heard is None or (now - self.heard).total_seconds() > STALE_S:
            return None
        # the limit in force decides whether it follows (the car may draw less); none accepted yet: nan,
        # which agrees with no command
        limit = self.limit_w if self.limit_w is not None else float("nan")
        return Reading(self.heard, None, self.p_w, self.energy_wh, limit)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()

    # what the charge point said
    def on_status(self, now: datetime, status: str) -> None:
        if status in PLUGGED and self.plugged_at is None:
            self.plugged_at = now
        elif status not in PLUGGED:
            self.plugged_at = None
        self.status, self.heard = status, now

    def on_meter(self, now: datetime, meter_value: list[dict[str, Any]]) -> None:
        for mv in meter_value:
            for sv in mv.get("sampled_value", []):
                measurand = sv.get("measurand", "Energy.Active.Import.Register")
                value = float(sv["value"])
                kilo = sv.get("unit", "") in ("kW", "kWh")
                if measurand == "Power.Active.Import" and sv.get("phase") is None:
                    self.p_w = value * (1000.0 if kilo else 1.0)
                elif measurand == "Energy.Active.Import.Register" and sv.get("phase") is None:
                    self.energy_wh = value * (1000.0 if kilo else 1.0)
        self.heard = now


@dataclass
class OcppSession:
    """The need of a car on ``charger``: ``session_kwh`` from the plug-in to the next ``ready_by``."""

    charger: OcppCharger
    session_kwh: float
    ready_by_min: int  #: local minute of the day
    tz: str
    min_w: float

    def need(self, now: datetime) -> Need | None:
        at = self.charger.plugged_at
        if at is None:
            return None
        local = at.astimezone(ZoneInfo(self.tz))
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        end = midnight + timedelta(minutes=self.ready_by_min)
        if end <= local + timedelta(hours=1):
            end += timedelta(days=1)
        if now >= end:
            return None  # past its departure: nothing more to plan until it is plugged in again
        c = self.charger
        return Need(
            c.id,
            f"{c.id}:{at.isoformat()}",
            "energy",
            at,
            end.astimezone(UTC),
            at,
            energy_wh=self.session_kwh * 1000.0,
            min_w=self.min_w,
            max_w=c.max_w,
            interruptible=True,
        )


class CentralSystem:
    """The box's OCPP 1.6J server (see the module docstring)."""

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

        self._server = await serve(
            self._handler,
            self.host,
            self.port,
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
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
        cp_id = connection.request.path.strip("/").rsplit("/", 1)[-1]
        charger = self.chargers[cp_id][0]
        session = _session_class()(cp_id, connection, charger, self._now)
        charger.session, charger._sent_w = session, None
        try:
            await session.start()
        except Exception as exc:  # a closed socket, or a charger that spoke nonsense
            log.info("OCPP: charge point %s went away: %s", cp_id, type(exc).__name__)
        finally:
            if charger.session is session:
                charger.session = None


def _session_class() -> Any:
    """The `ocpp` ChargePoint subclass answering a charger (built on first use: ocpp loads lazily)."""
    global _SESSION
    if _SESSION is not None:
        return _SESSION
    from ocpp.routing import on
    from ocpp.v16 import ChargePoint, call_result
    from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus

    accepted = {"status": AuthorizationStatus.accepted}

    class Session(ChargePoint):
        def __init__(self, cp_id: str, connection: Any, charger: OcppCharger, now: Any) -> None:
            super().__init__(cp_id, connection, response_timeout=10)
            self.charger, self.now = charger, now

        @on(Action.boot_notification)
        def boot(self, charge_point_vendor: str, charge_point_model: str, **_: Any) -> Any:
            self.charger.heard = self.now()
            asyncio.get_running_loop().call_soon(self.charger._kick)
            return call_result.BootNotification(
                current_time=self.now().isoformat(), interval=60, status=RegistrationStatus.accepted
            )

        @on(Action.heartbeat)
        def heartbeat(self) -> Any:
            self.charger.heard = self.now()
            return call_result.Heartbeat(current_time=self.now().isoformat())

        @on(Action.status_notification)
        def status(self, connector_id: int, error_code: str, status: str, **_: Any) -> Any:
            if connector_id == self.charger.connector:
                self.charger.on_status(self.now(), status)
                if status == "Charging":  # a session began: its power at once
                    asyncio.get_running_loop().create_task(self.charger.trigger_meter())
            return call_result.StatusNotification()

        @on(Action.authorize)
        def authorize(self, id_tag: str) -> Any:
            return call_result.Authorize(id_tag_info=accepted)

        @on(Action.start_transaction)
        def start_tx(self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **_: Any) -> Any:
            self.charger.transaction = int(self.now().timestamp()) % 2_000_000_000
            return call_result.StartTransaction(transaction_id=self.charger.transaction, id_tag_info=accepted)

        @on(Action.stop_transaction)
        def stop_tx(self, meter_stop: int, timestamp: str, transaction_id: int, **_: Any) -> Any:
            self.charger.transaction = None
            return call_result.StopTransaction()

        @on(Action.meter_values)
        def meter(self, connector_id: int, meter_value: list[dict[str, Any]], **_: Any) -> Any:
            self.charger.on_meter(self.now(), meter_value)
            return call_result.MeterValues()

    _SESSION = Session
    return Session


_SESSION: Any = None
