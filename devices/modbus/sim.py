"""Simulated Modbus meters on real transports: a pymodbus server holding a meter's register image,
on localhost TCP or on an RS-485 bus emulated by two pseudo-terminal pairs.

Used by the tests and `bench/modbus.py`, and to try a config without hardware. `PtyBus` copies bytes
between the client's pty and the server's pty; it can hold the line at a real baud rate, and it
plays meters that never answer (``dead``) or answer line noise (``garbage``), as on a real bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import struct
import threading
import time
import tty
from collections.abc import Iterable, Mapping
from typing import Any

from devices.modbus.maps import MeterMap, Register

_PACK = {
    "int16": ">h",
    "uint16": ">H",
    "int32": ">i",
    "uint32": ">I",
    "float32": ">f",
    "int64": ">q",
    "uint64": ">Q",
    "float64": ">d",
}


def encode_value(value: float, reg: Register) -> list[int]:
    """Register words holding ``value`` (in the field's unit) as the meter would send it."""
    from devices.modbus.config import unit_factor

    raw: float = value / reg.scale
    if reg.unit is not None:
        raw /= unit_factor(reg.field, reg.unit)
    code = _PACK[reg.type]
    data = struct.pack(code, raw if code in (">f", ">d") else round(raw))
    words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return words if reg.word_order == "big" else words[::-1]


def register_image(meter: MeterMap, values: Mapping[str, float]) -> dict[int, int]:
    """Address -> word for every register of ``meter``'s blocks (zeros where it has no value)."""
    image: dict[int, int] = {}
    for reg in meter.registers:
        image.update(dict.fromkeys(range(reg.address, reg.end), 0))
        if reg.field in values:
            for i, word in enumerate(encode_value(values[reg.field], reg)):
                image[reg.address + i] = word
    return image


def sim_device(unit_id: int, image: Mapping[int, int], function: str = "input", action: Any = None) -> Any:
    """A pymodbus `SimDevice` answering ``image`` (address -> word), filling holes from 0 with zeros."""
    from pymodbus.simulator import DataType, SimData, SimDevice

    top = max(image) + 1 if image else 1
    words = [image.get(a, 0) for a in range(top)]
    table = [SimData(address=0, values=words, datatype=DataType.REGISTERS)]
    empty_bits = [SimData(address=0, values=[False] * 16, datatype=DataType.BITS)]
    other = [SimData(address=0, values=[0], datatype=DataType.REGISTERS)]
    hr, ir = (table, other) if function == "holding" else (other, table)
    return SimDevice(id=unit_id, simdata=(empty_bits, empty_bits, hr, ir), action=action)


async def start_tcp_server(devices: Iterable[Any], framer: str = "socket", port: int = 0) -> tuple[Any, int]:
    """A running `ModbusTcpServer` on 127.0.0.1 at ``port`` (0: a free one): ``(server, port)``."""
    from pymodbus import FramerType
    from pymodbus.server import ModbusTcpServer

    ft = FramerType.RTU if framer == "rtu" else FramerType.SOCKET
    server = ModbusTcpServer(list(devices), address=("127.0.0.1", port), framer=ft)
    await server.serve_forever(background=True)
    for _ in range(200):
        sockets = getattr(server.transport, "sockets", None)  # an asyncio Server once listening
        if sockets:
            return server, int(sockets[0].getsockname()[1])
        await asyncio.sleep(0.01)
    raise RuntimeError("Modbus TCP server did not start")


class PtyBus:
    """An RS-485 bus in a box: ``port`` is the tty a client opens; ``devices`` answer behind it.

    ``baudrate``: when ``throttle`` is set, bytes cross at that speed (10 bits per byte, 8N1);
    ``turnaround_s``: a meter's think time before it answers [s]; ``dead``: unit ids that never answer;
    ``garbage``: unit ids that answer bytes that are no Modbus frame.
    """

    def __init__(
        self,
        devices: Iterable[Any],
        baudrate: int = 9600,
        throttle: bool = False,
        turnaround_s: float = 0.0,
        dead: Iterable[int] = (),
        garbage: Iterable[int] = (),
    ) -> None:
        self.devices = list(devices)
        self.baudrate = baudrate
        self.throttle = throttle
        self.turnaround_s = turnaround_s
        self.dead = set(dead)
        self.garbage = set(garbage)
        self.requests: list[int] = []  #: unit id of every request seen on the bus, in order
        self.counts: list[int] = []  #: registers asked for by every request, in order
        self._stop = threading.Event()
        self._fds: list[int] = []
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self.port = ""

    def __enter__(self) -> PtyBus:
        client_master, client_slave = os.openpty()
        server_master, server_slave = os.openpty()
        self._fds = [client_master, client_slave, server_master, server_slave]
        for fd in self._fds:
            tty.setraw(fd)
        self.port = os.ttyname(client_slave)
        started = threading.Event()
        self._threads = [
            threading.Thread(target=self._serve, args=(os.ttyname(server_slave), started), daemon=True),
            threading.Thread(target=self._bridge, args=(client_master, server_master), daemon=True),
        ]
        for t in self._threads:
            t.start()
        if not started.wait(5):
            raise RuntimeError("Modbus serial server did not start on the pty")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._loop is not None and self._server is not None:
            fut = asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop)
            with contextlib.suppress(Exception):
                fut.result(5)
        for t in self._threads:
            t.join(5)
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _serve(self, port: str, started: threading.Event) -> None:
        from pymodbus import FramerType
        from pymodbus.server import ModbusSerialServer

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._server = ModbusSerialServer(
                self.devices, framer=FramerType.RTU, port=port, baudrate=self.baudrate
            )
            await self._server.serve_forever(background=True)
            started.set()
            while not self._stop.is_set():
                await asyncio.sleep(0.05)

        asyncio.run(main())

    def _wire(self, fd: int, data: bytes) -> None:
        if self.throttle:
            time.sleep(len(data) * 10 / self.baudrate)
        os.write(fd, data)

    def _bridge(self, client: int, server: int) -> None:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([client, server], [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    return
                if fd == server:
                    if self.turnaround_s:
                        time.sleep(self.turnaround_s)
                    self._wire(client, data)
                    continue
                pending += data
                while len(pending) >= 8:  # read requests (FC 03/04) are 8 bytes on RTU
                    frame, pending = pending[:8], pending[8:]
                    self.requests.append(frame[0])
                    self.counts.append(int.from_bytes(frame[4:6], "big"))
                    if frame[0] in self.dead:
                        continue
                    if frame[0] in self.garbage:
                        self._wire(client, bytes([frame[0], 0x04, 0xFF]) + b"\x13\x37\xa5" * 7)
                        continue
                    self._wire(server, frame)
