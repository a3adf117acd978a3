"""OCPP 1.6J: the session answering a 1.6 charge point, and its `Wire` (see `ocpp_charger`).

It answers BootNotification, Heartbeat, StatusNotification, Authorize, Start/StopTransaction and
MeterValues (``Power.Active.Import``: the charger's circuit reading), and tells the charger
SetChargingProfile (TxDefaultProfile on the charger's connector), ClearChargingProfile,
RemoteStart/StopTransaction and TriggerMessage(MeterValues).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from devices.appliances.drivers.ocpp_charger import OVERRIDE, OcppCharger


def session_class() -> Any:
    """The `ocpp` ChargePoint subclass answering a 1.6 charger (built on first use: ocpp loads lazily)."""
    global _SESSION
    if _SESSION is not None:
        return _SESSION
    from ocpp.routing import on
    from ocpp.v16 import ChargePoint, call, call_result
    from ocpp.v16.datatypes import ChargingProfile, ChargingSchedule, ChargingSchedulePeriod
    from ocpp.v16.enums import (
        Action,
        AuthorizationStatus,
        ChargingProfileKindType,
        ChargingProfilePurposeType,
        ChargingRateUnitType,
        MessageTrigger,
        RegistrationStatus,
    )

    accepted = {"status": AuthorizationStatus.accepted}

    class Session(ChargePoint):
        def __init__(self, cp_id: str, connection: Any, charger: OcppCharger, now: Any) -> None:
            super().__init__(cp_id, connection, response_timeout=10)
            self.charger, self.now = charger, now

        # the Wire
        async def set_profile(
            self, pid: int, start: datetime | None, periods: list[tuple[int, float]], unit: str, phases: int
        ) -> str:
            n = phases if unit == "A" else None
            schedule = ChargingSchedule(
                charging_rate_unit=ChargingRateUnitType.amps if unit == "A" else ChargingRateUnitType.watts,
                charging_schedule_period=[ChargingSchedulePeriod(s, v, n) for s, v in periods],
                start_schedule=start.isoformat() if start is not None else None,
            )
            profile = ChargingProfile(
                charging_profile_id=pid,
                stack_level=pid,
                charging_profile_purpose=ChargingProfilePurposeType.tx_default_profile,
                charging_profile_kind=ChargingProfileKindType.relative
                if pid == OVERRIDE
                else ChargingProfileKindType.absolute,
                charging_schedule=schedule,
            )
            res = await self.call(
                call.SetChargingProfile(connector_id=self.charger.connector, cs_charging_profiles=profile)
            )
            return str(getattr(res, "status", "an error"))

        async def clear_profile(self, pid: int) -> str:
            res = await self.call(call.ClearChargingProfile(id=pid))
            return str(getattr(res, "status", "an error"))

        async def remote_start(self) -> str:
            c = self.charger
            res = await self.call(call.RemoteStartTransaction(id_tag="hems", connector_id=c.connector))
            return str(getattr(res, "status", "an error"))

        async def remote_stop(self, transaction: str) -> None:
            await self.call(call.RemoteStopTransaction(transaction_id=int(transaction)))

        async def trigger_meter(self) -> None:
            c = self.charger
            await self.call(
                call.TriggerMessage(requested_message=MessageTrigger.meter_values, connector_id=c.connector)
            )

        # what the charger says
        @on(Action.boot_notification)
        def boot(self, charge_point_vendor: str, charge_point_model: str, **_: Any) -> Any:
            self.charger.heard = self.now()
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
            number = int(self.now().timestamp()) % 2_000_000_000
            self.charger.transaction = str(number)
            return call_result.StartTransaction(transaction_id=number, id_tag_info=accepted)

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
