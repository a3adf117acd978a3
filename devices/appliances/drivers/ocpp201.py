"""OCPP 2.0.1: the session answering a 2.0.1 charging station, and its `Wire` (see `ocpp_charger`).

It answers BootNotification, Heartbeat, StatusNotification (``Occupied``: a car plugged in),
Authorize, TransactionEvent (Started/Updated/Ended, with the charging state and the meter values
inside) and MeterValues (``Power.Active.Import``: the circuit reading), and tells the station
SetChargingProfile (TxDefaultProfile on the charger's EVSE), ClearChargingProfile,
RequestStart/StopTransaction and TriggerMessage(MeterValues).
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from devices.appliances.drivers.ocpp_charger import OVERRIDE, OcppCharger

_REMOTE_START_IDS = itertools.count(1)


def session_class() -> Any:
    """The `ocpp` ChargePoint subclass answering a 2.0.1 station (built on first use)."""
    global _SESSION
    if _SESSION is not None:
        return _SESSION
    from ocpp.routing import on
    from ocpp.v201 import ChargePoint, call, call_result
    from ocpp.v201.datatypes import ChargingProfileType, ChargingSchedulePeriodType, ChargingScheduleType
    from ocpp.v201.enums import (
        Action,
        ChargingProfileKindEnumType,
        ChargingProfilePurposeEnumType,
        ChargingRateUnitEnumType,
        MessageTriggerEnumType,
        RegistrationStatusEnumType,
    )

    accepted = {"status": "Accepted"}

    class Session(ChargePoint):
        def __init__(self, cp_id: str, connection: Any, charger: OcppCharger, now: Any) -> None:
            super().__init__(cp_id, connection, response_timeout=10)
            self.charger, self.now = charger, now

        # the Wire
        async def set_profile(
            self, pid: int, start: datetime | None, periods: list[tuple[int, float]], unit: str, phases: int
        ) -> str:
            n = phases if unit == "A" else None
            schedule = ChargingScheduleType(
                id=pid,
                charging_rate_unit=ChargingRateUnitEnumType.amps
                if unit == "A"
                else ChargingRateUnitEnumType.watts,
                charging_schedule_period=[ChargingSchedulePeriodType(s, v, n) for s, v in periods],
                start_schedule=start.isoformat() if start is not None else None,
            )
            profile = ChargingProfileType(
                id=pid,
                stack_level=pid,
                charging_profile_purpose=ChargingProfilePurposeEnumType.tx_default_profile,
                charging_profile_kind=ChargingProfileKindEnumType.relative
                if pid == OVERRIDE
                else ChargingProfileKindEnumType.absolute,
                charging_schedule=[schedule],
            )
            res = await self.call(
                call.SetChargingProfile(evse_id=self.charger.connector, charging_profile=profile)
            )
            return str(getattr(res, "status", "an error"))

        async def clear_profile(self, pid: int) -> str:
            res = await self.call(call.ClearChargingProfile(charging_profile_id=pid))
            return str(getattr(res, "status", "an error"))

        async def remote_start(self) -> str:
            res = await self.call(
                call.RequestStartTransaction(
                    id_token={"id_token": "hems", "type": "Central"},
                    remote_start_id=next(_REMOTE_START_IDS),
                    evse_id=self.charger.connector,
                )
            )
            return str(getattr(res, "status", "an error"))

        async def remote_stop(self, transaction: str) -> None:
            await self.call(call.RequestStopTransaction(transaction_id=transaction))

        async def trigger_meter(self) -> None:
            await self.call(
                call.TriggerMessage(
                    requested_message=MessageTriggerEnumType.meter_values,
                    evse={"id": self.charger.connector},
                )
            )

        # what the station says
        @on(Action.boot_notification)
        def boot(self, charging_station: dict[str, Any], reason: str, **_: Any) -> Any:
            self.charger.heard = self.now()
            return call_result.BootNotification(
                current_time=self.now().isoformat(), interval=60, status=RegistrationStatusEnumType.accepted
            )

        @on(Action.heartbeat)
        def heartbeat(self, **_: Any) -> Any:
            self.charger.heard = self.now()
            return call_result.Heartbeat(current_time=self.now().isoformat())

        @on(Action.status_notification)
        def status(self, timestamp: str, connector_status: str, evse_id: int, **_: Any) -> Any:
            if evse_id == self.charger.connector:
                self.charger.on_status(self.now(), connector_status)
            return call_result.StatusNotification()

        @on(Action.authorize)
        def authorize(self, id_token: dict[str, Any], **_: Any) -> Any:
            return call_result.Authorize(id_token_info=accepted)

        @on(Action.transaction_event)
        def transaction(
            self,
            event_type: str,
            transaction_info: dict[str, Any],
            evse: dict[str, Any] | None = None,
            **kw: Any,
        ) -> Any:
            c = self.charger
            if evse is not None and evse.get("id") != c.connector:
                return call_result.TransactionEvent()
            c.transaction = None if event_type == "Ended" else str(transaction_info["transaction_id"])
            state = transaction_info.get("charging_state")
            if state is not None and state != "Idle":
                c.on_status(self.now(), state)
            c.on_meter(self.now(), kw.get("meter_value") or [])
            return call_result.TransactionEvent(id_token_info=accepted if "id_token" in kw else None)

        @on(Action.meter_values)
        def meter(self, evse_id: int, meter_value: list[dict[str, Any]], **_: Any) -> Any:
            if evse_id == self.charger.connector:
                self.charger.on_meter(self.now(), meter_value)
            return call_result.MeterValues()

    _SESSION = Session
    return Session


_SESSION: Any = None
