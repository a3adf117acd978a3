"""Each supported meter served by a real pymodbus server on localhost TCP, read back exactly.

The register images here are written from the manufacturers' tables (addresses, types, word order,
scale), independently of devices/modbus/maps.py, so a wrong address in a map fails a test.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from devices.modbus import WrongMapError
from devices.modbus.sim import sim_device
from devices.natures import CircuitMeter, DeviceError
from hems.clock import ManualClock


def f32(x: float) -> list[int]:
    """IEEE-754 float32, most significant word first (Eastron)."""
    b = struct.pack(">f", x)
    return [int.from_bytes(b[:2], "big"), int.from_bytes(b[2:], "big")]


def i32le(raw: int) -> list[int]:
    """INT32, least significant word first (Carlo Gavazzi)."""
    raw &= 0xFFFFFFFF
    return [raw & 0xFFFF, raw >> 16]


def image(entries: dict[int, list[int]], fill_to: int = 0) -> dict[int, int]:
    out = dict.fromkeys(range(fill_to), 0)
    for address, words in entries.items():
        for i, w in enumerate(words):
            out[address + i] = w
    return out


SDM_1P = {  # SDM120 / SDM230 input registers
    0x00: f32(230.1),  # voltage
    0x06: f32(7.83),  # current
    0x0C: f32(1801.2),  # active power
    0x12: f32(1850.0),  # apparent power (not a reading field: must not leak anywhere)
    0x1E: f32(0.97),  # power factor
    0x46: f32(50.02),  # frequency
    0x48: f32(1234.56),  # import active energy
    0x4A: f32(0.25),  # export active energy
}
SDM_1P_EXPECTED = {
    "u_v": 230.1,
    "i_a": 7.83,
    "p_w": 1801.2,
    "pf": 0.97,
    "f_hz": 50.02,
    "e_import_kwh": 1234.56,
    "e_export_kwh": 0.25,
}

SDM_3P = {  # SDM630 / SDM72D-M v2
    0x00: f32(230.1) + f32(231.2) + f32(229.9),
    0x06: f32(5.0) + f32(6.5) + f32(7.25),
    0x0C: f32(1150.0) + f32(1500.0) + f32(1660.0),
    0x34: f32(4310.0),  # total system power
    0x3E: f32(0.98),  # total power factor
    0x46: f32(49.99),
    0x48: f32(20123.4),
    0x4A: f32(12.5),
}
SDM_3P_EXPECTED = {
    "u_l1_v": 230.1,
    "u_l2_v": 231.2,
    "u_l3_v": 229.9,
    "i_l1_a": 5.0,
    "i_l2_a": 6.5,
    "i_l3_a": 7.25,
    "p_l1_w": 1150.0,
    "p_l2_w": 1500.0,
    "p_l3_w": 1660.0,
    "p_w": 4310.0,
    "i_a": 7.25,  # largest line current
    "u_v": 230.4,  # mean line voltage
    "pf": 0.98,
    "f_hz": 49.99,
    "e_import_kwh": 20123.4,
    "e_export_kwh": 12.5,
}

SDM72D_V1 = {0x34: f32(2200.5), 0x48: f32(5000.25), 0x4A: f32(1.0)}  # totals only, nothing between

EM340 = {  # INT32 LSW first x weight; PF INT16 x 0.001; Hz UINT16 x 0.1
    0x00: i32le(2301) + i32le(2312) + i32le(2299),
    0x0C: i32le(5000) + i32le(6500) + i32le(7250),
    0x12: i32le(11500) + i32le(15000) + i32le(-600),  # L3 exports 60 W
    0x28: i32le(25900),
    0x31: [980],
    0x33: [500],
    0x34: i32le(123456),
    0x4E: i32le(7),
}
EM340_EXPECTED = {
    "u_l1_v": 230.1,
    "u_l2_v": 231.2,
    "u_l3_v": 229.9,
    "i_l1_a": 5.0,
    "i_l2_a": 6.5,
    "i_l3_a": 7.25,
    "p_l1_w": 1150.0,
    "p_l2_w": 1500.0,
    "p_l3_w": -60.0,
    "p_w": 2590.0,
    "i_a": 7.25,
    "u_v": 230.4,
    "pf": 0.98,
    "f_hz": 50.0,
    "e_import_kwh": 12345.6,
    "e_export_kwh": 0.7,
}


def fields(reading: Any) -> dict[str, Any]:
    return {k: getattr(reading, k) for k in reading.__dataclass_fields__ if k != "time"}


def recorder(log: list[tuple[int, int, int]]) -> Any:
    async def action(fc: int, _start: int, address: int, count: int, *_: Any) -> None:
        log.append((fc, address, count))

    return action


@pytest.mark.parametrize(
    ("model", "entries", "expected", "requests"),
    [
        ("sdm120", SDM_1P, SDM_1P_EXPECTED, [(4, 0x00, 76)]),
        ("sdm230", SDM_1P, SDM_1P_EXPECTED, [(4, 0x00, 76)]),
        ("sdm630", SDM_3P, SDM_3P_EXPECTED, [(4, 0x00, 76)]),
        ("sdm72dv2", SDM_3P, SDM_3P_EXPECTED, [(4, 0x00, 76)]),
        ("em340", EM340, EM340_EXPECTED, [(4, 0x00, 50), (4, 0x33, 29)]),
    ],
)
async def test_each_meter_model_reads_back_exactly_in_few_requests(
    tcp_server: Any, meters: Any, make_circuit: Any, model: str, entries: Any, expected: Any, requests: Any
) -> None:
    seen: list[tuple[int, int, int]] = []
    port = await tcp_server([sim_device(7, image(entries, 0x50), action=recorder(seen))])
    clock = ManualClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    (meter,) = meters([make_circuit("c1", model, 7, host="127.0.0.1", port=port)], clock)
    assert isinstance(meter, CircuitMeter)
    reading = await meter.read()
    assert reading.time == clock.now()
    got = {k: v for k, v in fields(reading).items() if v is not None}
    assert got == expected
    assert seen == requests


async def test_sdm72d_v1_is_read_without_spanning_registers_it_does_not_have(
    tcp_server: Any, meters: Any, make_circuit: Any
) -> None:
    # only the three totals exist: reading across the gap would get exception 2 (illegal address)
    from pymodbus.simulator import DataType, SimData, SimDevice

    bits = [SimData(address=0, values=[False] * 16, datatype=DataType.BITS)]
    ir = [SimData(address=a, values=w, datatype=DataType.REGISTERS) for a, w in SDM72D_V1.items()]
    hr = [SimData(address=0, values=[0], datatype=DataType.REGISTERS)]
    port = await tcp_server([SimDevice(id=1, simdata=(bits, bits, hr, ir))])
    (meter,) = meters([make_circuit("heat", "sdm72d", 1, "3P", host="127.0.0.1", port=port)])
    reading = await meter.read()
    assert (reading.p_w, reading.e_import_kwh, reading.e_export_kwh) == (2200.5, 5000.25, 1.0)
    assert reading.u_v is None and reading.i_a is None  # v1 has no voltages or currents


async def test_custom_map_from_config_reads_holding_registers_and_converts_units(
    tcp_server: Any, meters: Any, make_circuit: Any
) -> None:
    regs = {0x100: [2304], 0x102: [0, 1234], 0x104: i32le(-2500), 0x110: [0x0001, 0x86A0]}
    port = await tcp_server([sim_device(3, image(regs), function="holding")])
    custom = make_circuit(
        "garage",
        "custom",
        3,
        host="127.0.0.1",
        port=port,
        function="holding",
        register=[
            {"field": "u_v", "address": 0x100, "type": "uint16", "scale": 0.1, "unit": "V"},
            {"field": "i_a", "address": 0x102, "type": "uint32", "unit": "mA"},
            {"field": "p_w", "address": 0x104, "type": "int32", "word_order": "little", "unit": "W"},
            {"field": "e_import_kwh", "address": 0x110, "type": "uint32", "unit": "Wh"},
        ],
    )
    (meter,) = meters([custom])
    reading = await meter.read()
    assert (reading.u_v, reading.i_a, reading.p_w, reading.e_import_kwh) == (230.4, 1.234, -2500.0, 100.0)


async def test_rtu_framing_over_tcp_for_transparent_gateways(
    tcp_server: Any, meters: Any, make_circuit: Any
) -> None:
    port = await tcp_server([sim_device(2, image(SDM_1P, 0x50))], framer="rtu")
    (meter,) = meters([make_circuit("k", "sdm120", 2, host="127.0.0.1", port=port, framer="rtu")])
    assert (await meter.read()).u_v == 230.1


async def test_unavailable_gavazzi_value_is_missing_not_zero(
    tcp_server: Any, meters: Any, make_circuit: Any
) -> None:
    em = dict(EM340)
    em[0x0C] = [*i32le(5000), 0xFFFF, 0x7FFF, 0xFFFF, 0x7FFF]  # a 1P install: L2, L3 "n/a"
    port = await tcp_server([sim_device(1, image(em, 0x50))])
    (meter,) = meters([make_circuit("k", "em340", 1, host="127.0.0.1", port=port)])
    reading = await meter.read()
    assert (reading.i_l1_a, reading.i_l2_a, reading.i_l3_a, reading.i_a) == (5.0, None, None, 5.0)


async def test_wrong_map_is_reported_once_and_clearly(
    tcp_server: Any, meters: Any, make_circuit: Any, caplog: pytest.LogCaptureFixture
) -> None:
    port = await tcp_server([sim_device(4, image(EM340, 0x50)), sim_device(5, image(SDM_1P, 0x50))])
    wrong, right = meters(
        [
            make_circuit("oven", "sdm120", 4, host="127.0.0.1", port=port),  # it is an EM340
            make_circuit("hall", "sdm120", 5, host="127.0.0.1", port=port),
        ]
    )
    caplog.set_level(logging.WARNING, logger="devices.modbus.driver")
    for _ in range(3):
        with pytest.raises(
            WrongMapError, match=r"circuit oven: unit 4 on tcp 127\.0\.0\.1:\d+ answers values out"
        ):
            await wrong.read()
        assert (await right.read()).u_v == 230.1
    reports = [r for r in caplog.records if "oven" in r.getMessage()]
    assert len(reports) == 1
    assert "model 'sdm120'" in reports[0].getMessage() and "u_v=" in reports[0].getMessage()


async def test_missing_registers_give_the_modbus_exception_and_a_hint(
    tcp_server: Any, meters: Any, make_circuit: Any
) -> None:
    short = {a: w for a, w in SDM_1P.items() if a < 0x20}  # a meter without frequency and energies
    port = await tcp_server([sim_device(1, image(short, 0x20))])
    (meter,) = meters([make_circuit("k", "sdm120", 1, host="127.0.0.1", port=port)])
    with pytest.raises(DeviceError, match=r"refused registers 0x0000\.\.0x004B .*exception 2, illegal data"):
        await meter.read()


async def test_slow_meter_times_out_and_the_others_on_the_gateway_stay_right(
    tcp_server: Any, meters: Any, make_circuit: Any
) -> None:
    async def slow(*_: Any) -> None:
        await asyncio.sleep(0.6)

    port = await tcp_server(
        [sim_device(5, image(SDM_1P, 0x50), action=slow), sim_device(1, image(SDM_3P, 0x50))]
    )
    slow_meter, good = meters(
        [
            make_circuit("slow", "sdm120", 5, host="127.0.0.1", port=port, timeout_s=0.3),
            make_circuit("good", "sdm630", 1, "3P", host="127.0.0.1", port=port, timeout_s=1.0),
        ]
    )
    start = time.monotonic()
    results = await asyncio.gather(slow_meter.read(), good.read(), return_exceptions=True)
    elapsed = time.monotonic() - start
    assert isinstance(results[0], DeviceError) and "no answer within 0.3 s" in str(results[0])
    assert not isinstance(results[1], BaseException) and results[1].p_w == 4310.0
    assert elapsed < 1.5
    # the late answer of the slow meter must not be taken for the next request's
    await asyncio.sleep(0.5)
    assert (await good.read()).u_l1_v == 230.1


async def test_dead_gateway_backs_off_then_recovers(meters: Any, make_circuit: Any) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    clock = ManualClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    (meter,) = meters([make_circuit("k", "sdm120", 1, host="127.0.0.1", port=port, timeout_s=0.5)], clock)
    with pytest.raises(DeviceError, match=rf"circuit k: cannot connect to tcp 127\.0\.0\.1:{port}"):
        await meter.read()
    clock.advance(10)
    with pytest.raises(DeviceError, match="cannot connect"):  # 2nd failure: now it backs off 10 s
        await meter.read()
    clock.advance(5)
    start = time.monotonic()
    with pytest.raises(DeviceError, match=r"not polled, 2 failures in a row .*next try in 5 s"):
        await meter.read()
    assert time.monotonic() - start < 0.05  # no bus time spent on it
    server, _ = await start_tcp_server_on(port)
    try:
        clock.advance(5)
        assert (await meter.read()).u_v == 230.1
        assert meter.failures == 0
    finally:
        await server.shutdown()


async def start_tcp_server_on(port: int) -> tuple[Any, int]:
    from pymodbus.server import ModbusTcpServer

    server = ModbusTcpServer([sim_device(1, image(SDM_1P, 0x50))], address=("127.0.0.1", port))
    await server.serve_forever(background=True)
    return server, port
