"""OCPP 2.0.1: the session answering a 2.0.1 charging station, and its `Wire` (see `ocpp_charger`).

Beyond what `ocpp_central.session_base` shares, it answers StatusNotification (``Occupied``: a car
plugged in), Authorize, TransactionEvent (Started/Updated/Ended, with the charging state and the
meter values inside) and MeterValues (``Power.Active.Import``: the circuit reading), and tells the
station SetChargingProfile (TxDefaultProfile on the charger's EVSE), ClearChargingProfile,
RequestStart/StopTransaction and TriggerMessage(MeterValues).
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

from devices.appliances.drivers.ocpp_central import session_base

_REMOTE_START_IDS = itertools.count(1)


@functools.cache
def session_class() -> Any:
    """The `ocpp` ChargePoint subclass answering a 2.0.1 station (built on first use)."""
    from ocpp.routing import on
    from ocpp.v201 import ChargePoint, call, call_result
    from ocpp.v201.enums import Action

    accepted = {"status": "Accepted"}

    class Session(session_base(), ChargePoint):  # type: ignore[misc]
        results = call_result

        # the Wire
        def profile_call(self, pid: int, profile: dict[str, Any], schedule: dict[str, Any]) -> Any:
            whole = {"id": pid, **profile, "charging_schedule": [{"id": pid, **schedule}]}
            return call.SetChargingProfile(evse_id=self.charger.connector, charging_profile=whole)

        async def clear_profile(self, pid: int) -> str:
            return await self.ask(call.ClearChargingProfile(charging_profile_id=pid))

        async def remote_start(self) -> str:
            return await self.ask(
                call.RequestStartTransaction(
                    id_token={"id_token": "hems", "type": "Central"},
                    remote_start_id=next(_REMOTE_START_IDS),
                    evse_id=self.charger.connector,
                )
            )

        async def remote_stop(self, transaction: str) -> None:
            await self.ask(call.RequestStopTransaction(transaction_id=transaction))

        async def trigger_meter(self) -> None:
            evse = {"id": self.charger.connector}
            await self.ask(call.TriggerMessage(requested_message="MeterValues", evse=evse))

        # what the station says
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

    return Session
