"""The OCPP 1.6J driver: the box's central system against the `ocpp` package's ChargePoint over a
real websocket — boot, plug-in, limits as charging profiles, remote start, shedding, bad chargers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from devices.appliances.drivers.base import DrivenDevice
from devices.appliances.drivers.ocpp16 import CentralSystem, OcppCharger, OcppSession
from devices.simulated.chargepoint import run_charge_point


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


@pytest.fixture
async def central() -> AsyncIterator[tuple[CentralSystem, OcppCharger]]:
    charger = OcppCharger("ev", "cp-1", 11_000.0)
    cs = CentralSystem("127.0.0.1", 0, {"cp-1": (charger, "s3cret-pass")})
    await cs.start()
    yield cs, charger
    await cs.stop()


async def _run(
    cs: CentralSystem, mode: str = "ok", password: str = "s3cret-pass"
) -> tuple[Any, dict[str, Any]]:
    state: dict[str, Any] = {}
    task = asyncio.create_task(
        run_charge_point(f"ws://127.0.0.1:{cs.port}", "cp-1", password, mode=mode, meter_s=0.2, state=state)
    )
    return task, state


async def _stop(task: Any) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def test_a_plan_power_becomes_a_profile_the_car_follows(
    central: tuple[CentralSystem, OcppCharger],
) -> None:
    cs, charger = central
    task, state = await _run(cs)
    try:
        await until(lambda: charger.status == "Preparing")
        now = datetime.now(UTC)
        device = DrivenDevice(
            "ev",
            "energy",
            charger,
            OcppSession(charger, 20.0, 7 * 60, "Europe/Oslo", 4140.0),
            now,
            relay=False,
            confirm_s=30.0,
        )
        need = device.need(now)
        assert need is not None and need.energy_wh == 20_000.0 and need.latest_end > now
        device.set_power(now, 7.0)
        await until(lambda: charger.status == "Charging" and abs((charger.p_w or 0) - 7000) < 100)
        assert state["limit_w"] == pytest.approx(10.1 * 690)  # 7 kW as A per phase on three phases
        device.poll(datetime.now(UTC))
        assert device.fault is None and device.status(datetime.now(UTC)).p_w == pytest.approx(6969, abs=1)
        # an overload warning: the box lowers the limit at once
        device.set_power(datetime.now(UTC), 4.2)
        await until(lambda: charger.limit_w == 4200.0, timeout=2.0)
        await until(lambda: abs((charger.p_w or 0) - 4140) < 100)
    finally:
        await _stop(task)


async def test_a_charger_that_rejects_its_profile_is_reported_and_a_fault(
    central: tuple[CentralSystem, OcppCharger],
) -> None:
    cs, charger = central
    task, state = await _run(cs, mode="reject")
    try:
        await until(lambda: charger.status == "Preparing")
        t0 = datetime.now(UTC)
        device = DrivenDevice("ev", "energy", charger, None, t0, relay=False, confirm_s=0.5)
        problems: list[str] = []
        device.on_problem = problems.append
        device.set_power(t0, 7.0)
        await until(lambda: state["profiles"] >= 1)
        await asyncio.sleep(0.8)
        device.poll(datetime.now(UTC))
        assert problems == ["ev: charger cp-1 answered Rejected to a limit of 7000 W"]
        assert device.fault is not None and "does not follow" in device.fault
    finally:
        await _stop(task)


async def test_wrong_credentials_are_refused_before_the_websocket_opens(
    central: tuple[CentralSystem, OcppCharger],
) -> None:
    from websockets.exceptions import InvalidStatus

    cs, charger = central
    task, _ = await _run(cs, password="guess")
    with pytest.raises(InvalidStatus, match="401"):
        await task
    assert cs.refused == ["charge point 'cp-1' refused: wrong credentials"]
    assert charger.session is None


async def test_security_profile_2_basic_auth_over_tls(tmp_path: Any) -> None:
    """wss:// with the box's self-signed certificate (the charger trusts it), and its own password."""
    import ssl

    from hems.api.tls import make_certificate

    files = make_certificate(tmp_path, "127.0.0.1")
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(files.cert, files.key)
    client_tls = ssl.create_default_context(cafile=str(files.cert))
    charger = OcppCharger("ev", "cp-tls", 11_000.0)
    cs = CentralSystem("127.0.0.1", 0, {"cp-tls": (charger, "tls-password")}, tls=server_tls)
    await cs.start()
    state: dict[str, Any] = {}
    url = f"wss://127.0.0.1:{cs.port}"
    task = asyncio.create_task(
        run_charge_point(url, "cp-tls", "tls-password", ssl_context=client_tls, meter_s=0.2, state=state)
    )
    try:
        await until(lambda: charger.status == "Preparing")
        charger.command(datetime.now(UTC), 11_000.0)
        await until(lambda: charger.limit_w == 11_000.0 and state["started"])
        assert cs.refused == []
    finally:
        await _stop(task)
        await cs.stop()
