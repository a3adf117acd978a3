"""The SunSpec battery driver against a pymodbus server holding SunSpec models 1, 103 and 124."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from devices.appliances.drivers.base import DrivenDevice
from devices.appliances.drivers.sunspec import SunSpecBattery
from devices.modbus.sim import start_tcp_server
from devices.simulated.sunspec import SimSunSpec


@pytest.fixture
async def inverter(request: pytest.FixtureRequest) -> AsyncIterator[tuple[SimSunSpec, int]]:
    sim = SimSunSpec(capacity_kwh=10.0, max_w=5000.0, soc_pct=40.0, mode=getattr(request, "param", "ok"))
    server, port = await start_tcp_server([sim.device(1)])
    yield sim, port
    await server.shutdown()


async def cycles(device: DrivenDevice, n: int) -> None:
    for _ in range(n):
        device.poll(datetime.now(UTC))
        await asyncio.sleep(0.1)


async def test_reads_charge_and_follows_the_planned_grid_exchange(inverter: tuple[SimSunSpec, int]) -> None:
    sim, port = inverter
    grid = {"w": 1200.0}  # the house imports 1.2 kW
    actuator = SunSpecBattery("battery", "127.0.0.1", port, 1, 10.0, 5000.0)
    device = DrivenDevice(
        "battery",
        "battery",
        actuator,
        None,
        datetime.now(UTC),
        relay=False,
        grid_w=lambda: grid["w"],
        confirm_s=1.0,
    )
    await cycles(device, 3)
    assert device.status(datetime.now(UTC)).soc_kwh == pytest.approx(4.0, abs=0.01)
    assert actuator.models.keys() >= {1, 103, 124}
    device.set_power(datetime.now(UTC), 3.2)  # the plan: import 3.2 kW (charge from cheap power)
    await cycles(device, 3)
    assert sim.p_w == pytest.approx(2000.0, abs=10)  # 1.2 kW + 2 kW into the battery = 3.2 kW
    assert device.status(datetime.now(UTC)).p_w == pytest.approx(2000.0, abs=10)
    grid["w"] = 3200.0 - 2500.0  # the house's own load fell by 2.5 kW: the battery fills in
    device.set_power(datetime.now(UTC), -1.0)  # now export 1 kW: discharge
    await cycles(device, 3)
    assert sim.p_w == pytest.approx(2000.0 - 1700.0, abs=10)
    assert device.fault is None
    device.set_power(datetime.now(UTC), None)  # no plan: the inverter's own self-consumption
    await cycles(device, 3)
    assert sim.image is not None and device.fault is None


@pytest.mark.parametrize("inverter", ["ignore"], indirect=True)
async def test_an_inverter_that_ignores_its_set_point_is_a_fault(inverter: tuple[SimSunSpec, int]) -> None:
    sim, port = inverter
    actuator = SunSpecBattery("battery", "127.0.0.1", port, 1, 10.0, 5000.0)
    device = DrivenDevice(
        "battery",
        "battery",
        actuator,
        None,
        datetime.now(UTC),
        relay=False,
        grid_w=lambda: 0.0,
        confirm_s=0.3,
    )
    await cycles(device, 2)
    device.set_power(datetime.now(UTC), 3.0)
    await cycles(device, 6)
    assert sim.writes >= 1
    assert device.fault is not None and "does not follow: told 3000 W" in device.fault


async def test_a_device_without_sunspec_is_a_clear_problem() -> None:
    from devices.modbus.sim import sim_device

    server, port = await start_tcp_server([sim_device(1, {40000: 1, 40001: 2}, function="holding")])
    try:
        actuator = SunSpecBattery("battery", "127.0.0.1", port, 1, 10.0, 5000.0)
        device = DrivenDevice("battery", "battery", actuator, None, datetime.now(UTC), relay=False)
        seen: list[Any] = []
        device.on_problem = seen.append
        await cycles(device, 3)
        assert any(
            "needs SunSpec models 103 (or 101/102) and 124, found no SunSpec marker" in s for s in seen
        )
    finally:
        await server.shutdown()


async def test_the_plans_own_battery_power_guards_the_set_point(inverter: tuple[SimSunSpec, int]) -> None:
    """The agent passes the plan's battery power in the slot (`battery_guard`), as it does to a
    protocol battery: a slot planned without charging never charges from the grid."""
    sim, port = inverter
    grid = {"w": 1200.0}  # the house imports 1.2 kW, the battery idle
    actuator = SunSpecBattery("battery", "127.0.0.1", port, 1, 10.0, 5000.0)
    device = DrivenDevice(
        "battery", "battery", actuator, None, datetime.now(UTC), relay=False, grid_w=lambda: grid["w"]
    )
    await cycles(device, 3)
    device.set_power(datetime.now(UTC), 3.2, planned_kw=0.0)  # import 3.2 kW, but no charging planned
    await cycles(device, 3)
    assert sim.p_w == pytest.approx(0.0, abs=10)
    device.set_power(datetime.now(UTC), 3.2, planned_kw=1.5)  # planned to charge 1.5 kW: no faster
    await cycles(device, 3)
    assert sim.p_w == pytest.approx(1500.0, abs=10)


async def test_a_set_point_given_while_a_read_is_under_way_is_written_without_waiting_a_cycle(
    inverter: tuple[SimSunSpec, int],
) -> None:
    """The control cycle polls (a read starts) and then commands: the write follows that read at
    once instead of waiting for the next cycle's poll, 10 s later."""
    sim, port = inverter
    actuator = SunSpecBattery("battery", "127.0.0.1", port, 1, 10.0, 5000.0)
    device = DrivenDevice(
        "battery", "battery", actuator, None, datetime.now(UTC), relay=False, grid_w=lambda: 1200.0
    )
    await cycles(device, 3)
    device.poll(datetime.now(UTC))  # a read under way...
    for _ in range(3):
        await asyncio.sleep(0)  # (its request on the wire)
    device.set_power(datetime.now(UTC), 3.2)  # ...and the plan's set point in the same cycle
    await asyncio.sleep(0.3)  # no further poll
    assert sim.p_w == pytest.approx(2000.0, abs=10)


async def test_a_plan_aiming_at_no_exchange_is_left_to_the_inverters_own_control(
    inverter: tuple[SimSunSpec, int],
) -> None:
    """Zero import and zero export is what the inverter's self-consumption does on its own meter
    within a second; the box's loop through its meter would lag a cycle behind it."""
    _, port = inverter
    actuator = SunSpecBattery("battery", "127.0.0.1", port, 1, 10.0, 5000.0)
    device = DrivenDevice(
        "battery", "battery", actuator, None, datetime.now(UTC), relay=False, grid_w=lambda: 1200.0
    )
    device.set_power(datetime.now(UTC), 3.2)
    await cycles(device, 3)
    assert device.reading is not None and device.reading.limit_w == pytest.approx(2000.0, abs=10)
    device.set_power(datetime.now(UTC), 0.0)  # the plan: neither import nor export
    await cycles(device, 3)
    assert device.reading.limit_w is None  # StorCtl_Mod 0: no limit of the box's in force
    assert device.fault is None
