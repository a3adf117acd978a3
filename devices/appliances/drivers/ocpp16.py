"""OCPP 1.6J: the session answering a 1.6 charge point, and its `Wire` (see `ocpp_charger`).

Beyond what `ocpp_central.session_base` shares, it answers StatusNotification, Authorize,
Start/StopTransaction and MeterValues (``Power.Active.Import``: the charger's circuit reading),
and tells the charger SetChargingProfile (TxDefaultProfile on the charger's connector),
ClearChargingProfile, RemoteStart/StopTransaction and TriggerMessage(MeterValues).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from devices.appliances.drivers.ocpp_central import session_base


@functools.cache
def session_class() -> Any:
    """The `ocpp` ChargePoint subclass answering a 1.6 charger (built on first use: ocpp loads lazily)."""
    from ocpp.routing import on
    from ocpp.v16 import ChargePoint, call, call_result
    from ocpp.v16.enums import Action, MessageTrigger

    accepted = {"status": "Accepted"}

    class Session(session_base(), ChargePoint):  # type: ignore[misc]
        results = call_result

        # the Wire
        def profile_call(self, pid: int, profile: dict[str, Any], schedule: dict[str, Any]) -> Any:
            whole = {"charging_profile_id": pid, **profile, "charging_schedule": schedule}
            return call.SetChargingProfile(connector_id=self.charger.connector, cs_charging_profiles=whole)

        async def clear_profile(self, pid: int) -> str:
            return await self.ask(call.ClearChargingProfile(id=pid))

        async def remote_start(self) -> str:
            c = self.charger
            return await self.ask(call.RemoteStartTransaction(id_tag="hems", connector_id=c.connector))

        async def remote_stop(self, transaction: str) -> None:
            await self.ask(call.RemoteStopTransaction(transaction_id=int(transaction)))

        async def trigger_meter(self) -> None:
            c = self.charger
            await self.ask(
                call.TriggerMessage(requested_message=MessageTrigger.meter_values, connector_id=c.connector)
            )

        # what the charger says
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

    return Session
