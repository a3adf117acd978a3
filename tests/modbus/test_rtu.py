"""Modbus RTU on an RS-485 bus emulated by two pseudo-terminal pairs and a real pymodbus serial server."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from devices.modbus import ModbusConfigError
from devices.modbus.maps import MAPS
from devices.modbus.sim import PtyBus, register_image, sim_device
from devices.natures import CircuitReading, DeviceError
from hems.clock import ManualClock

KITCHEN = {"u_v": 229.5, "i_a": 12.25, "p_w": 2790.0, "pf": 0.99, "f_hz": 50.0, "e_import_kwh": 812.5}
HEATER = {"u_l1_v": 230.0, "u_l2_v": 231.0, "u_l3_v": 232.0, "i_l1_a": 8.5, "i_l2_a": 8.5, "i_l3_a": 9.0}


def bus_devices() -> list[Any]:
    return [
        sim_device(1, register_image(MAPS["sdm120"], KITCHEN)),
        sim_device(2, register_image(MAPS["sdm630"], HEATER)),
    ]


def rtu(cid: str, model: str, unit_id: int, port: str, timeout_s: float = 0.4) -> dict[str, Any]:
    meter = {"model": model, "serial": port, "baudrate": 9600, "unit_id": unit_id, "timeout_s": timeout_s}
    return {"id": cid, "line": "L1", "breaker_a": 16, "meter": meter}


async def test_two_meters_on_one_bus_read_concurrently_are_serialised_and_right(meters: Any) -> None:
    with PtyBus(bus_devices()) as bus:
        pair = [rtu("kitchen", "sdm120", 1, bus.port), rtu("heater", "sdm630", 2, bus.port)]
        kitchen, heater = meters(pair)
        assert kitchen.bus is heater.bus  # one client, one lock for the port
        first, second = await asyncio.gather(kitchen.read(), heater.read())
        assert (first.u_v, first.i_a, first.p_w, first.e_import_kwh) == (229.5, 12.25, 2790.0, 812.5)
        assert (second.u_l2_v, second.i_l3_a, second.i_a, second.u_v) == (231.0, 9.0, 9.0, 231.0)
        assert sorted(bus.requests) == [1, 2]  # one request per meter: the whole map in one block


async def test_silent_and_garbage_units_do_not_hold_up_the_cycle(meters: Any) -> None:
    cycle_s = 10.0
    with PtyBus(bus_devices(), dead={3}, garbage={4}) as bus:
        built = meters(
            [
                rtu("kitchen", "sdm120", 1, bus.port),
                rtu("attic", "sdm120", 3, bus.port),
                rtu("shed", "sdm120", 4, bus.port),
                rtu("heater", "sdm630", 2, bus.port),
            ]
        )
        start = time.monotonic()
        results = await asyncio.wait_for(
            asyncio.gather(*(m.read() for m in built), return_exceptions=True), cycle_s
        )
        elapsed = time.monotonic() - start
        kitchen, attic, shed, heater = results
        assert isinstance(kitchen, CircuitReading) and kitchen.p_w == 2790.0
        assert isinstance(heater, CircuitReading) and heater.u_l3_v == 232.0
        assert isinstance(attic, DeviceError)
        assert str(attic) == f"circuit attic: unit 3 on {bus.port}: no answer within 0.4 s"
        assert isinstance(shed, DeviceError) and "bytes that are no valid Modbus frame" in str(shed)
        # two timeouts of 0.4 s, plus the good meters: far inside the cycle
        assert elapsed < 2 * 0.4 + 1.0


async def test_a_dead_meter_stops_costing_bus_time_while_backing_off(meters: Any) -> None:
    clock = ManualClock(datetime(2026, 2, 2, 6, 0, tzinfo=UTC))
    with PtyBus(bus_devices(), dead={3}) as bus:
        pair = [rtu("kitchen", "sdm120", 1, bus.port), rtu("attic", "sdm120", 3, bus.port)]
        good, dead = meters(pair, clock)
        for _cycle in range(4):
            results = await asyncio.gather(good.read(), dead.read(), return_exceptions=True)
            assert isinstance(results[0], CircuitReading) and isinstance(results[1], DeviceError)
            clock.advance(10)
        # cycles 1 and 2 ask unit 3; after the 2nd failure it waits 10 s, then 20 s: one more try
        assert bus.requests.count(1) == 4
        assert bus.requests.count(3) == 3
        assert dead.failures == 3


def test_meters_on_one_port_must_agree_on_its_speed(meters: Any) -> None:
    a = rtu("a", "sdm120", 1, "/dev/ttyUSB0")
    b = rtu("b", "sdm120", 2, "/dev/ttyUSB0")
    b["meter"]["baudrate"] = 2400
    with pytest.raises(ModbusConfigError, match=r"circuits 'a' and 'b' share /dev/ttyUSB0 but differ"):
        meters([a, b])


async def test_a_missing_serial_port_is_a_device_error(meters: Any) -> None:
    (meter,) = meters([rtu("a", "sdm120", 1, "/dev/ttyNOPE-hems")])
    with pytest.raises(DeviceError, match="circuit a: cannot open serial port /dev/ttyNOPE-hems"):
        await meter.read()


async def test_energy_registers_are_read_less_often_than_power(meters: Any) -> None:
    """The short request (voltage, current, power) every cycle; the whole map, with the energy
    registers, first and then every sixth read (staggered by unit id): the readings always carry the
    last energy values."""
    with PtyBus(bus_devices()) as bus:
        (kitchen,) = meters([rtu("kitchen", "sdm120", 1, bus.port)])
        readings = [await kitchen.read() for _ in range(7)]
        full, short = bus.counts[0], bus.counts[1]
        assert bus.counts == [full, short, short, short, short, full, short]  # unit 1: reads 1 and 6
        assert short < full / 4  # 9600 baud: a fifth of the answer's bytes
        assert all(r.e_import_kwh == 812.5 and r.p_w == 2790.0 for r in readings)
