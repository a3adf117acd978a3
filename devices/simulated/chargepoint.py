"""A simulated OCPP 1.6J charge point (the `ocpp` package's ChargePoint over a real websocket), for
tests, the bench and the twin: it boots, says a car is plugged in, takes charging profiles (or
rejects them: ``mode="reject"``), starts a transaction on RemoteStartTransaction, and reports
``Power.Active.Import`` and the energy register every ``meter_s``. The car draws the profile's
limit up to its own ``car_w``; behind it can be the twin's EV (``car``: `set_power(now, kw)` /
`power_w(now)`), so the twin's household sees the charging.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from datetime import UTC, datetime
from typing import Any


class Profiles:
    """The charging profiles a simulated charger holds, and the limit they make at an instant [W]:
    of the profiles in force, the highest stack level's; an Absolute one from its startSchedule, a
    Relative one from its arrival; its last period started by then."""

    def __init__(self, volts_phases: float) -> None:
        self.volts_phases = volts_phases
        self.held: dict[int, tuple[int, datetime, list[tuple[int, float]]]] = {}

    def put(self, pid: int, stack: int, schedule: dict[str, Any], now: datetime) -> list[tuple[int, float]]:
        """Hold a profile (``schedule``: the chargingSchedule as the `ocpp` package hands it over)."""
        amps = schedule["charging_rate_unit"] == "A"
        periods = [
            (int(p["start_period"]), float(p["limit"]) * (self.volts_phases if amps else 1.0))
            for p in schedule["charging_schedule_period"]
        ]
        start = schedule.get("start_schedule")
        self.held[pid] = (stack, datetime.fromisoformat(start) if start else now, periods)
        return periods

    def clear(self, pid: int | None) -> bool:
        found = pid in self.held or (pid is None and bool(self.held))
        self.held = {} if pid is None else {k: v for k, v in self.held.items() if k != pid}
        return found

    def limit_w(self, t: datetime) -> float | None:
        for _stack, start, periods in sorted(self.held.values(), key=lambda h: -h[0]):
            into = (t - start).total_seconds()
            begun = [w for s, w in periods if s <= into]
            if begun:
                return begun[-1]
        return None


async def run_charge_point(
    url: str,
    cp_id: str,
    password: str | None = None,
    *,
    car_w: float = 11_000.0,
    mode: str = "ok",
    meter_s: float = 1.0,
    car: Any = None,
    now: Any = None,
    ssl_context: Any = None,
    state: dict[str, Any] | None = None,
) -> None:
    """Connect to the central system at ``url`` and act as charge point ``cp_id`` until cancelled.

    ``state`` (optional) is filled with what the charge point knows: limit_w, p_w, profiles, started.
    """
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
    from websockets.asyncio.client import connect
    from websockets.typing import Subprotocol

    clock = now or (lambda: datetime.now(UTC))
    st: dict[str, Any] = state if state is not None else {}
    st.update(limit_w=None, p_w=0.0, energy_wh=0.0, profiles=0, started=False, booted=False, schedule=None)
    phases_v = 230.0 * 3
    held = Profiles(phases_v)

    class Sim(ChargePoint):
        @on(Action.set_charging_profile)
        def profile(self, connector_id: int, cs_charging_profiles: dict[str, Any]) -> Any:
            st["profiles"] += 1
            if mode == "reject":
                return call_result.SetChargingProfile(status=ChargingProfileStatus.rejected)
            p = cs_charging_profiles
            periods = held.put(p["charging_profile_id"], p["stack_level"], p["charging_schedule"], clock())
            if p["charging_profile_kind"] == "Absolute":
                st["schedule"] = (p["charging_schedule"]["start_schedule"], periods)
            self.follow()
            return call_result.SetChargingProfile(status=ChargingProfileStatus.accepted)

        @on(Action.clear_charging_profile)
        def clear(self, id: int | None = None, **_: Any) -> Any:
            found = held.clear(id)
            self.follow()
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
            st["started"] = False
            self.follow()
            return call_result.RemoteStopTransaction(status=RemoteStartStopStatus.accepted)

        def follow(self) -> None:
            st["limit_w"] = held.limit_w(clock())
            limit = st["limit_w"] if st["limit_w"] is not None else car_w
            p = min(limit, car_w) if st["started"] else 0.0
            if p < 6 * phases_v - 1:
                p = 0.0  # below 6 A the car pauses
            if car is not None:
                car.set_power(clock(), p / 1000.0)
                p = float(car.power_w(clock()))
            st["p_w"] = p

        async def begin(self, id_tag: str) -> None:
            await self.call(
                call.StartTransaction(
                    connector_id=1, id_tag=id_tag, meter_start=0, timestamp=clock().isoformat()
                )
            )
            st["started"] = True
            self.follow()
            await self.status(ChargePointStatus.charging)

        async def status(self, status: Any) -> None:
            await self.call(
                call.StatusNotification(
                    connector_id=1,
                    error_code=ChargePointErrorCode.no_error,
                    status=status,
                    timestamp=clock().isoformat(),
                )
            )

        async def meter_loop(self) -> None:
            last = clock()
            plugged = True
            while True:
                await asyncio.sleep(meter_s)
                t = clock()
                if car is not None and (car.need(t) is not None) != plugged:  # the twin's car came or left
                    plugged = not plugged
                    st["started"] = st["started"] and plugged
                    await self.status(ChargePointStatus.preparing if plugged else ChargePointStatus.available)
                self.follow()
                st["energy_wh"] += st["p_w"] * max((t - last).total_seconds(), 0.0) / 3600.0
                last = t
                await self.send_meter()

        async def send_meter(self) -> None:
            t = clock()
            self.follow()
            values = [
                {"measurand": "Power.Active.Import", "unit": "W", "value": f"{st['p_w']:.0f}"},
                {
                    "measurand": "Energy.Active.Import.Register",
                    "unit": "Wh",
                    "value": f"{st['energy_wh']:.0f}",
                },
            ]
            mv = [{"timestamp": t.isoformat(), "sampled_value": values}]
            await self.call(call.MeterValues(connector_id=1, meter_value=mv))

    headers = {}
    if password is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{cp_id}:{password}".encode()).decode()
    async with connect(
        f"{url.rstrip('/')}/{cp_id}",
        subprotocols=[Subprotocol("ocpp1.6")],
        additional_headers=headers,
        ssl=ssl_context,
        proxy=None,
    ) as ws:
        cp = Sim(cp_id, ws, response_timeout=10)
        runner = asyncio.create_task(cp.start())
        try:
            boot = await cp.call(call.BootNotification(charge_point_model="Sim", charge_point_vendor="hems"))
            st["booted"] = boot.status == RegistrationStatus.accepted
            plugged = car is None or car.need(clock()) is not None
            await cp.status(ChargePointStatus.preparing if plugged else ChargePointStatus.available)
            meter = asyncio.create_task(cp.meter_loop())
            try:
                await runner
            finally:
                meter.cancel()
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner
