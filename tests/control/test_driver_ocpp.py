"""The OCPP 1.6J driver: the box's central system against the `ocpp` package's ChargePoint over a
real websocket — boot, plug-in, limits as charging profiles, remote start, shedding, bad chargers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices.appliances.drivers.base import DrivenDevice
from devices.appliances.drivers.ocpp_central import CentralSystem
from devices.appliances.drivers.ocpp_charger import OcppCharger, OcppSession
from devices.simulated.chargepoint import run_charge_point


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


@pytest.fixture(params=["1.6", "2.0.1"])
def version(request: pytest.FixtureRequest) -> str:
    """Every test against a 1.6J charge point and a 2.0.1 charging station."""
    return str(request.param)


@pytest.fixture
async def central() -> AsyncIterator[tuple[CentralSystem, OcppCharger]]:
    charger = OcppCharger("ev", "cp-1", 11_000.0)
    cs = CentralSystem("127.0.0.1", 0, {"cp-1": (charger, "s3cret-pass")})
    await cs.start()
    yield cs, charger
    await cs.stop()


async def _run(
    cs: CentralSystem, version: str, mode: str = "ok", password: str = "s3cret-pass"
) -> tuple[Any, dict[str, Any]]:
    state: dict[str, Any] = {}
    url = f"ws://127.0.0.1:{cs.port}"
    task = asyncio.create_task(
        run_charge_point(url, "cp-1", password, version=version, mode=mode, meter_s=0.2, state=state)
    )
    return task, state


@contextlib.asynccontextmanager
async def plugged(
    central: tuple[CentralSystem, OcppCharger], version: str, mode: str = "ok"
) -> AsyncIterator[dict[str, Any]]:
    """A simulated charger connected, a car plugged in; what it knows (`chargepoint.Car`)."""
    task, state = await _run(central[0], version, mode=mode)
    try:
        await until(lambda: bool(state.get("booted")) and central[1].plugged_at is not None)
        yield state
    finally:
        await _stop(task)


async def _stop(task: Any) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def test_a_plan_power_becomes_a_profile_the_car_follows(
    central: tuple[CentralSystem, OcppCharger], version: str
) -> None:
    charger = central[1]
    async with plugged(central, version) as state:
        assert state["booted"] and charger.heard is not None
        spoken = "ocpp201" if version == "2.0.1" else "ocpp16"
        assert type(charger.wire).__module__ == f"devices.appliances.drivers.{spoken}"
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
        assert charger.energy_wh is not None  # the energy register, in Wh (2.0.1 sends kWh)
        # an overload warning: the box lowers the limit at once (well within a 10 s cycle)
        device.set_power(datetime.now(UTC), 4.2)
        await until(
            lambda: charger.limit_w == 4200.0 and state["limit_w"] == pytest.approx(4209), timeout=1.0
        )
        await until(lambda: abs((charger.p_w or 0) - 4209) < 1)
        await charger.stop_charging()  # the household's "stop now"
        await until(lambda: charger.transaction is None and not state["started"])


async def test_a_charger_that_rejects_its_profile_is_reported_and_a_fault(
    central: tuple[CentralSystem, OcppCharger], version: str
) -> None:
    charger = central[1]
    async with plugged(central, version, mode="reject") as state:
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


async def test_wrong_credentials_are_refused_before_the_websocket_opens(
    central: tuple[CentralSystem, OcppCharger], version: str
) -> None:
    from websockets.exceptions import InvalidStatus

    cs, charger = central
    task, _ = await _run(cs, version, password="guess")
    with pytest.raises(InvalidStatus, match="401"):
        await task
    assert cs.refused == ["charge point 'cp-1' refused: wrong credentials"]
    assert charger.wire is None


async def test_security_profile_2_basic_auth_over_tls(tmp_path: Any, version: str) -> None:
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
        run_charge_point(
            url, "cp-tls", "tls-password", version=version, ssl_context=client_tls, meter_s=0.2, state=state
        )
    )
    try:
        await until(lambda: charger.plugged_at is not None)
        charger.command(datetime.now(UTC), 11_000.0)
        await until(lambda: charger.limit_w == 11_000.0 and state["started"])
        assert cs.refused == []
    finally:
        await _stop(task)
        await cs.stop()


def _plan(start: datetime, kw: list[float], slot_minutes: float = 15) -> Any:
    """A schedule as the agent keeps it (`agent.Plan`'s fields the driver reads)."""
    from types import SimpleNamespace

    return SimpleNamespace(slot_start=start, slot_minutes=slot_minutes, power_kw=tuple(kw))


async def test_the_whole_plan_goes_to_the_charger_as_one_schedule_and_shedding_overrides_it(
    central: tuple[CentralSystem, OcppCharger], version: str
) -> None:
    charger = central[1]
    async with plugged(central, version) as state:
        now = datetime.now(UTC)
        start = datetime.fromtimestamp(now.timestamp() // 900 * 900, UTC)
        kw = [7.0, 7.0, 11.0, 0.0, 0.0, 4.2, 11.0]
        device = DrivenDevice("ev", "energy", charger, None, now, relay=False, confirm_s=30.0)
        device.ahead(_plan(start, kw))
        device.set_power(now, 7.0)  # the plan's power now: no second profile
        await until(lambda: state["schedule"] is not None and state["started"])
        at, periods = state["schedule"]
        assert datetime.fromisoformat(at) == start
        assert [s for s, _ in periods] == [0, 1800, 2700, 4500, 5400, 6300]  # one per change, 0 at the end
        by_slot = [[w for s, w in periods if s <= i * 900][-1] for i in range(len(kw))]
        assert by_slot == [pytest.approx(k * 1000, abs=35) for k in kw]  # A per phase: 0.1 A rounding
        await until(lambda: abs((charger.p_w or 0) - 6969) < 1)
        assert state["profiles"] == 1 and charger.limit_w == 7000.0
        # an overload warning: a stack-level-2 profile lowers the limit at once
        device.set_power(datetime.now(UTC), 4.2)
        await until(lambda: charger.limit_w == 4200.0 and abs((charger.p_w or 0) - 4209) < 1, timeout=2.0)
        assert state["schedule"][1] == periods  # the schedule stays
        # the overload is over: the override is cleared and the schedule holds again
        device.set_power(datetime.now(UTC), 7.0)
        await until(lambda: 2 not in charger.accepted and abs((charger.p_w or 0) - 6969) < 1, timeout=2.0)
        device.poll(datetime.now(UTC))
        assert device.fault is None
        # a new plan replaces the schedule
        device.ahead(_plan(start, [7.0, 3.0]))
        await until(lambda: [s for s, _ in state["schedule"][1]] == [0, 900, 1800])


async def test_the_charger_follows_its_schedule_by_itself_and_its_meter_values_confirm_it(
    central: tuple[CentralSystem, OcppCharger], version: str
) -> None:
    """Slots of 2 s (OCPP counts whole seconds): the box sends the schedule once; the charger
    changes at each boundary, its MeterValues show the plan's power in each slot, and the box never
    sees a fault."""
    charger = central[1]
    async with plugged(central, version) as state:
        start = datetime.now(UTC)
        kw = [7.0, 11.0, 4.2, 9.0]
        plan = _plan(start, kw, slot_minutes=2 / 60)
        device = DrivenDevice("ev", "energy", charger, None, start, relay=False, confirm_s=1.0)
        device.ahead(plan)
        seen: list[tuple[int, float]] = []
        faults: list[str] = []
        while (now := datetime.now(UTC)) < start + timedelta(seconds=2 * len(kw)):
            slot = int((now - start).total_seconds() // 2)
            device.poll(now)
            if device.fault:
                faults.append(device.fault)
            device.set_power(now, kw[slot])  # what the agent does each tick: the plan's power now
            if charger.heard is not None and charger.p_w is not None:
                seen.append((slot, charger.p_w))
            await asyncio.sleep(0.1)
        assert faults == [], (faults, seen)
        assert state["profiles"] == 1  # the whole schedule, once: no profile per slot
        for i, k in enumerate(kw):  # the read-back power reached each slot's power in its slot
            assert any(s == i and abs(p - k * 1000) < 35 for s, p in seen), (i, seen)


async def test_a_charger_offering_no_version_the_box_speaks_is_refused_with_the_reason(
    central: tuple[CentralSystem, OcppCharger],
) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus
    from websockets.typing import Subprotocol

    cs, charger = central
    with pytest.raises(InvalidStatus, match="400"):
        async with connect(
            f"ws://127.0.0.1:{cs.port}/cp-1", subprotocols=[Subprotocol("ocpp2.1")], proxy=None
        ):
            pass
    assert cs.refused == ["charge point 'cp-1' refused: it speaks ocpp2.1, not ocpp1.6 or ocpp2.0.1"]
    assert charger.wire is None


async def test_a_charger_that_reconnects_gets_the_schedule_again(
    central: tuple[CentralSystem, OcppCharger], version: str
) -> None:
    """A dropped websocket keeps the limit the box knows the charger holds (no false fault); the
    new connection gets the whole schedule again."""
    charger = central[1]
    now = datetime.now(UTC)
    start = datetime.fromtimestamp(now.timestamp() // 900 * 900, UTC)
    device = DrivenDevice("ev", "energy", charger, None, now, relay=False, confirm_s=30.0)
    async with plugged(central, version) as first:
        device.ahead(_plan(start, [7.0, 0.0, 11.0]))
        device.set_power(now, 7.0)
        await until(lambda: first["schedule"] is not None and charger.limit_w == 7000.0)
    await until(lambda: charger.wire is None)
    assert charger.limit_w == 7000.0
    async with plugged(central, version) as second:
        await until(lambda: second["schedule"] is not None)
        assert second["schedule"] == first["schedule"] and second["profiles"] == 1


class CarBattery:
    """A plugged-in car with a 60 kWh battery lacking 12 kWh (what `chargepoint.Car` drives)."""

    def __init__(self) -> None:
        self.lacks_wh, self.p_w = 12_000.0, 0.0

    def need(self, now: datetime) -> object:
        return "plugged in"

    def remaining_wh(self) -> float:
        return self.lacks_wh

    def set_power(self, now: datetime, kw: float | None) -> None:
        self.p_w = (kw or 0.0) * 1000.0

    def power_w(self, now: datetime) -> float:
        return self.p_w


async def test_a_charger_reporting_soc_sizes_the_session(
    central: tuple[CentralSystem, OcppCharger], version: str
) -> None:
    cs, charger = central
    url = f"ws://127.0.0.1:{cs.port}"
    state: dict[str, Any] = {}
    cp = run_charge_point(
        url, "cp-1", "s3cret-pass", version=version, meter_s=0.2, state=state, car=CarBattery(), car_kwh=60.0
    )
    task = asyncio.create_task(cp)
    try:
        await until(lambda: charger.plugged_at is not None and charger.soc_pct is not None)
        assert charger.soc_pct == 80.0
        now = datetime.now(UTC)
        sized = OcppSession(charger, 24.0, 7 * 60, "Europe/Oslo", 4140.0, car_kwh=60.0).need(now)
        # what the car lacks (20 % of 60 kWh) and 1 % for the charger's rounding, not the worst case
        assert sized is not None and sized.energy_wh == pytest.approx(12_600.0) and sized.key.endswith(":soc")
        blind = OcppSession(charger, 24.0, 7 * 60, "Europe/Oslo", 4140.0).need(now)
        assert blind is not None and blind.energy_wh == 24_000.0  # no battery size given: the setting
    finally:
        await _stop(task)
    # the car leaves: its SoC goes with it
    charger.on_status(datetime.now(UTC), "Available")
    assert charger.soc_pct is None and charger.plugged_at is None
