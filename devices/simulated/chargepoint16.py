"""The simulated charger's OCPP 1.6J side (see `chargepoint`)."""

from __future__ import annotations

import asyncio
from typing import Any


def station_class() -> Any:
    from ocpp.routing import on
    from ocpp.v16 import ChargePoint, call, call_result
    from ocpp.v16.enums import (
        Action,
        ChargePointErrorCode,
        ChargePointStatus,
        ChargingProfileStatus,
        RegistrationStatus,
        RemoteStartStopStatus,
        TriggerMessageStatus,
    )

    class Station16(ChargePoint):
        sim: Any
        transaction: int | None = None

        @on(Action.set_charging_profile)
        def profile(self, connector_id: int, cs_charging_profiles: dict[str, Any]) -> Any:
            p = cs_charging_profiles
            kind, schedule = p["charging_profile_kind"], p["charging_schedule"]
            if self.sim.take(p["charging_profile_id"], p["stack_level"], kind, schedule):
                return call_result.SetChargingProfile(status=ChargingProfileStatus.accepted)
            return call_result.SetChargingProfile(status=ChargingProfileStatus.rejected)

        @on(Action.clear_charging_profile)
        def clear(self, id: int | None = None, **_: Any) -> Any:
            found = self.sim.profiles.clear(id)
            self.sim.follow()
            return call_result.ClearChargingProfile(status="Accepted" if found else "Unknown")

        @on(Action.remote_start_transaction)
        def remote_start(self, id_tag: str, **_: Any) -> Any:
            asyncio.get_running_loop().create_task(self.begin(id_tag))
            return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.accepted)

        @on(Action.trigger_message)
        def trigger(self, requested_message: str, **_: Any) -> Any:
            if requested_message != "MeterValues":
                return call_result.TriggerMessage(status=TriggerMessageStatus.not_implemented)
            asyncio.get_running_loop().create_task(self.send_meter())
            return call_result.TriggerMessage(status=TriggerMessageStatus.accepted)

        @on(Action.remote_stop_transaction)
        def remote_stop(self, transaction_id: int) -> Any:
            if transaction_id != self.transaction:
                return call_result.RemoteStopTransaction(status=RemoteStartStopStatus.rejected)
            asyncio.get_running_loop().create_task(self.end(transaction_id))
            return call_result.RemoteStopTransaction(status=RemoteStartStopStatus.accepted)

        async def end(self, transaction_id: int, reason: str = "Remote") -> None:
            self.sim.st["started"], self.transaction = False, None
            self.sim.follow()
            now, meter = self.sim.clock().isoformat(), round(self.sim.st["energy_wh"])
            await self.call(
                call.StopTransaction(
                    meter_stop=meter, timestamp=now, transaction_id=transaction_id, reason=reason
                )
            )
            await self.status(ChargePointStatus.finishing)

        async def boot(self) -> None:
            boot = await self.call(
                call.BootNotification(charge_point_model="Sim", charge_point_vendor="hems")
            )
            self.sim.st["booted"] = boot.status == RegistrationStatus.accepted
            await self.plugged(self.sim.plugged)

        async def begin(self, id_tag: str) -> None:
            now = self.sim.clock().isoformat()
            res = await self.call(
                call.StartTransaction(connector_id=1, id_tag=id_tag, meter_start=0, timestamp=now)
            )
            self.transaction = res.transaction_id
            self.sim.st["started"] = True
            self.sim.follow()
            await self.status(ChargePointStatus.charging)

        async def plugged(self, plugged: bool) -> None:
            if not plugged and self.transaction is not None:  # unplugged while charging: it ends
                await self.end(self.transaction, "EVDisconnected")
            await self.status(ChargePointStatus.preparing if plugged else ChargePointStatus.available)

        async def status(self, status: Any) -> None:
            now = self.sim.clock().isoformat()
            await self.call(
                call.StatusNotification(
                    connector_id=1, error_code=ChargePointErrorCode.no_error, status=status, timestamp=now
                )
            )

        async def send_meter(self) -> None:
            self.sim.follow()
            values = [
                {"measurand": m, "unit": unit, "value": f"{v:.0f}"} for m, v, unit in self.sim.sampled()
            ]
            mv = [{"timestamp": self.sim.clock().isoformat(), "sampled_value": values}]
            await self.call(call.MeterValues(connector_id=1, meter_value=mv))

    return Station16
