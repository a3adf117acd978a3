"""The simulated charger's OCPP 2.0.1 side (see `chargepoint`): one EVSE (id 1, connector 1);
while a transaction runs its meter values go inside TransactionEvent(Updated), else MeterValues."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any


def station_class() -> Any:
    from ocpp.routing import on
    from ocpp.v201 import ChargePoint, call, call_result
    from ocpp.v201.enums import Action, RegistrationStatusEnumType

    accepted, rejected = "Accepted", "Rejected"

    class Station201(ChargePoint):
        sim: Any
        transaction: str | None = None
        seq = itertools.count()

        @on(Action.set_charging_profile)
        def profile(self, evse_id: int, charging_profile: dict[str, Any], **_: Any) -> Any:
            p = charging_profile
            kind, schedule = p["charging_profile_kind"], p["charging_schedule"][0]
            ok = evse_id == 1 and self.sim.take(p["id"], p["stack_level"], kind, schedule)
            return call_result.SetChargingProfile(status=accepted if ok else rejected)

        @on(Action.clear_charging_profile)
        def clear(self, charging_profile_id: int | None = None, **_: Any) -> Any:
            found = self.sim.profiles.clear(charging_profile_id)
            self.sim.follow()
            return call_result.ClearChargingProfile(status=accepted if found else "Unknown")

        @on(Action.request_start_transaction)
        def remote_start(self, id_token: dict[str, Any], remote_start_id: int, **_: Any) -> Any:
            if self.transaction is not None or not self.sim.plugged:
                return call_result.RequestStartTransaction(status=rejected)
            self.transaction = f"tx-{remote_start_id}"
            asyncio.get_running_loop().create_task(self.event("Started", "RemoteStart", remote_start_id))
            return call_result.RequestStartTransaction(status=accepted, transaction_id=self.transaction)

        @on(Action.request_stop_transaction)
        def remote_stop(self, transaction_id: str, **_: Any) -> Any:
            if transaction_id != self.transaction:
                return call_result.RequestStopTransaction(status=rejected)
            asyncio.get_running_loop().create_task(self.event("Ended", "RemoteStop"))
            return call_result.RequestStopTransaction(status=accepted)

        @on(Action.trigger_message)
        def trigger(self, requested_message: str, **_: Any) -> Any:
            if requested_message != "MeterValues":
                return call_result.TriggerMessage(status="NotImplemented")
            asyncio.get_running_loop().create_task(self.send_meter())
            return call_result.TriggerMessage(status=accepted)

        async def boot(self) -> None:
            station = {"model": "Sim", "vendor_name": "hems"}
            boot = await self.call(call.BootNotification(charging_station=station, reason="PowerUp"))
            self.sim.st["booted"] = boot.status == RegistrationStatusEnumType.accepted
            await self.plugged(self.sim.plugged)

        async def plugged(self, plugged: bool) -> None:
            if not plugged and self.transaction is not None:
                await self.event("Ended", "EVDeparted")
            now = self.sim.clock().isoformat()
            status = "Occupied" if plugged else "Available"
            await self.call(
                call.StatusNotification(timestamp=now, connector_status=status, evse_id=1, connector_id=1)
            )

        async def event(self, kind: str, why: str, remote_start_id: int | None = None) -> None:
            """A TransactionEvent (the meter values inside)."""
            st = self.sim.st
            st["started"] = kind != "Ended"
            self.sim.follow()
            info: dict[str, Any] = {
                "transaction_id": self.transaction,
                "charging_state": ("Charging" if st["p_w"] > 0 else "SuspendedEVSE")
                if st["started"]
                else "EVConnected",
            }
            if remote_start_id is not None:
                info["remote_start_id"] = remote_start_id
            await self.call(
                call.TransactionEvent(
                    event_type=kind,
                    timestamp=self.sim.clock().isoformat(),
                    trigger_reason=why,
                    seq_no=next(self.seq),
                    transaction_info=info,
                    meter_value=self.values(),
                    evse={"id": 1, "connector_id": 1},
                )
            )
            if kind == "Ended":
                self.transaction = None

        def values(self) -> list[dict[str, Any]]:
            kwh = {"Wh": ("kWh", 1e-3)}  # 2.0.1 chargers often count in kWh
            sampled = []
            for measurand, v, unit in self.sim.sampled():
                unit, scale = kwh.get(unit, (unit, 1.0))
                value = round(v * scale, 3) if scale != 1.0 else v
                sampled.append({"value": value, "measurand": measurand, "unit_of_measure": {"unit": unit}})
            return [{"timestamp": self.sim.clock().isoformat(), "sampled_value": sampled}]

        async def send_meter(self) -> None:
            self.sim.follow()
            if self.transaction is not None:
                await self.event("Updated", "MeterValuePeriodic")
            else:
                await self.call(call.MeterValues(evse_id=1, meter_value=self.values()))

    return Station201
