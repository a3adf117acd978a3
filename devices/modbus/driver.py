"""Modbus circuit meters: one shared client and lock per bus, one `CircuitMeter` per circuit.

- `ModbusBus`: a serial port (RTU) or a TCP gateway; one pymodbus client, one asyncio lock, so
  requests on a bus never overlap; each request has its own timeout.
- `ModbusCircuitMeter`: reads its map's blocks, decodes them, checks they are physically possible.
  A meter that fails is retried with backoff (next cycle, then after 10 s, 20 s, ... 300 s), so a dead
  meter stops costing bus time; a wrong map (values out of range) is logged once and raised every
  cycle as `WrongMapError`.
- `build_circuit_meters(circuits)`: the factory the daemon calls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from devices.modbus.config import CircuitConfig, CircuitMeterConfig
from devices.modbus.maps import (
    Block,
    MeterMap,
    check_plausible,
    meter_map,
    parse_blocks,
    plan_blocks,
    to_reading,
)
from devices.natures import CircuitReading, DeviceError

if TYPE_CHECKING:
    from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient

log = logging.getLogger(__name__)

_EXCEPTIONS = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target did not respond",
}


class ModbusConfigError(ValueError):
    """Circuits whose meters cannot share their bus as configured (speed, duplicate unit id...)."""


class WrongMapError(DeviceError):
    """The meter answered, but its values are physically impossible: the model/map is wrong."""


class _Clock(Protocol):
    def now(self) -> datetime: ...


class _UtcClock:
    """Wall-clock time, used when no clock is injected."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ModbusBus:
    """One physical bus: a serial port with its RS-485 meters, or one Modbus TCP endpoint.

    ``settings`` is the first meter's config; all meters on the bus share its line settings.
    """

    def __init__(self, settings: CircuitMeterConfig, timeout_s: float) -> None:
        self.settings = settings
        self.name = settings.bus
        self.timeout_s = timeout_s  #: client-level timeout: the longest of the bus's meters [s]
        self.lock = asyncio.Lock()
        self._client: AsyncModbusSerialClient | AsyncModbusTcpClient | None = None
        self._received = 0  #: bytes received since the current request was sent
        #: RTU needs 3.5 characters of silence between frames (at least 1.75 ms above 19200 baud) [s]
        self.frame_gap_s = max(3.5 * 11 / settings.baud, 0.00175) if settings.serial else 0.0
        self._quiet_from = 0.0  #: monotonic time the bus went quiet after the last answer [s]

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if sending:
            self._received = 0
        else:
            self._received = max(self._received, len(data))  # the library passes its whole buffer
        return data

    def _make_client(self) -> AsyncModbusSerialClient | AsyncModbusTcpClient:
        from pymodbus import FramerType
        from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient

        s = self.settings
        # the per-meter timeout is enforced around each request; this one only bounds the library
        common: dict[str, Any] = {
            "timeout": self.timeout_s + 1.0,
            "retries": 0,
            "reconnect_delay": 0,
            "trace_packet": self._trace,
        }
        if s.serial is not None:
            return AsyncModbusSerialClient(
                s.serial,
                framer=FramerType.RTU,
                baudrate=s.baud,
                bytesize=8,
                parity=s.parity,
                stopbits=s.stopbits,
                **common,
            )
        framer = FramerType.RTU if s.framer == "rtu" else FramerType.SOCKET
        assert s.host is not None
        return AsyncModbusTcpClient(s.host, port=s.port, framer=framer, **common)

    async def _connected(self, timeout_s: float) -> AsyncModbusSerialClient | AsyncModbusTcpClient:
        if self._client is None:
            self._client = self._make_client()
        client = self._client
        if not client.connected:
            try:
                ok = await asyncio.wait_for(client.connect(), timeout_s)
            except TimeoutError:
                ok = False
            if not ok:
                client.close()
                what = "open serial port" if self.settings.serial else "connect to"
                raise DeviceError(f"cannot {what} {self.name} (within {timeout_s:g} s)")
        return client

    async def read_block(self, unit_id: int, function: str, block: Block, timeout_s: float) -> list[int]:
        """The words of one block; caller holds `lock`. Raises DeviceError with what went wrong."""
        from pymodbus.exceptions import ModbusException

        client = await self._connected(timeout_s)
        if (wait := self._quiet_from + self.frame_gap_s - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        span = f"0x{block.start:04X}..0x{block.start + block.count - 1:04X}"
        read = client.read_input_registers if function == "input" else client.read_holding_registers
        try:
            rr = await asyncio.wait_for(read(block.start, count=block.count, device_id=unit_id), timeout_s)
        except TimeoutError:
            self._quiet_from = time.monotonic() + 0.02  # let a late answer pass before the next request
            if self._received:
                raise DeviceError(
                    f"unit {unit_id} on {self.name}: answered {self._received} bytes that are no valid "
                    f"Modbus frame within {timeout_s:g} s (check baudrate and parity, wiring, or two "
                    "meters sharing this unit id)"
                ) from None
            raise DeviceError(f"unit {unit_id} on {self.name}: no answer within {timeout_s:g} s") from None
        except ModbusException as exc:
            raise DeviceError(f"unit {unit_id} on {self.name}: {exc}") from None
        self._quiet_from = time.monotonic()
        if rr.isError():
            code = getattr(rr, "exception_code", 0)
            meaning = _EXCEPTIONS.get(code, "exception")
            raise DeviceError(
                f"unit {unit_id} on {self.name} refused registers {span} ({function}): "
                f"exception {code}, {meaning}; is the meter model right?"
            )
        words = list(rr.registers)
        if len(words) != block.count:
            raise DeviceError(
                f"unit {unit_id} on {self.name}: asked for {block.count} registers at {span}, "
                f"got {len(words)}"
            )
        return words

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


#: fields read every cycle (the rest — energy registers, power factor, frequency — less often)
FAST_PREFIXES = ("u_", "i_", "p_")


class ModbusCircuitMeter:
    """A fuse circuit's energy meter on a Modbus bus; implements `devices.natures.CircuitMeter`."""

    def __init__(
        self,
        circuit_id: str,
        cfg: CircuitMeterConfig,
        bus: ModbusBus,
        clock: _Clock | None = None,
        backoff_base_s: float = 10.0,
        backoff_max_s: float = 300.0,
        slow_every: int = 6,
    ) -> None:
        self.id = circuit_id
        self.cfg = cfg
        self.bus = bus
        self.map: MeterMap = meter_map(cfg)
        m = self.map
        self.blocks: list[Block] = plan_blocks(m.registers, m.max_registers, m.max_gap)  #: everything
        # what the fuse model needs (voltage, current, power) every cycle; registers, power factor and
        # frequency every `slow_every` reads: on a 9600-baud bus the short request is a fifth of the bytes
        fast = [r for r in m.registers if r.field.startswith(FAST_PREFIXES)]
        slow = [r for r in m.registers if not r.field.startswith(FAST_PREFIXES)]
        self.fast_blocks = plan_blocks(fast, m.max_registers, m.max_gap) if fast and slow else self.blocks
        self.slow_blocks = plan_blocks(slow, m.max_registers, m.max_gap) if fast and slow else []
        self.slow_every = slow_every
        self._slow_values: dict[str, float | None] | None = None  #: the last slow read
        self._reads = 0
        self.clock: _Clock = clock or _UtcClock()
        self.backoff_base_s = backoff_base_s  #: pause after the 2nd failure in a row, doubling [s]
        self.backoff_max_s = backoff_max_s  #: longest pause between tries [s]
        self.failures = 0  #: failed reads in a row
        self.next_try: datetime | None = None  #: no request before this instant (backing off)
        self.last_error: str | None = None
        self._map_reported = False

    def __repr__(self) -> str:
        where = f"unit {self.cfg.unit_id} on {self.bus.name}"
        return f"ModbusCircuitMeter({self.id!r}, {self.map.model}, {where})"

    async def read(self) -> CircuitReading:
        """Read the meter once. Raises `DeviceError` (or `WrongMapError`) with a specific message."""
        now = self.clock.now()
        if self.next_try is not None and now < self.next_try:
            wait = (self.next_try - now).total_seconds()
            raise DeviceError(
                f"circuit {self.id}: not polled, {self.failures} failures in a row "
                f"(last: {self.last_error}); next try in {wait:.0f} s"
            )
        # staggered by unit id, so the meters of one bus do not all read their whole map in one cycle
        slow_due = self._slow_values is None or (self._reads + self.cfg.unit_id) % self.slow_every == 0
        blocks = self.blocks if slow_due else self.fast_blocks  # the whole map: the fewest requests
        try:
            async with self.bus.lock:
                words = [
                    await self.bus.read_block(self.cfg.unit_id, self.map.function, b, self.cfg.timeout_s)
                    for b in blocks
                ]
        except DeviceError as exc:
            self._failed(str(exc))
            self._slow_values = None  # after trouble, the next read asks for everything again
            raise DeviceError(f"circuit {self.id}: {exc}") from None
        self.failures, self.next_try, self.last_error = 0, None, None
        self._reads += 1
        values = parse_blocks(blocks, words)
        if self.slow_blocks:
            if slow_due:
                self._slow_values = {
                    r.field: values.get(r.field) for b in self.slow_blocks for r in b.registers
                }
            values = {**(self._slow_values or {}), **values}
        problems = check_plausible(values)
        if problems:
            msg = (
                f"circuit {self.id}: unit {self.cfg.unit_id} on {self.bus.name} answers values out of "
                f"physical range for model {self.map.model!r}: {', '.join(problems[:3])}"
                f"{' ...' if len(problems) > 3 else ''}; check the model (or the custom map's "
                "addresses, types and word order)"
            )
            if not self._map_reported:
                log.warning("%s", msg)
                self._map_reported = True
            raise WrongMapError(msg)
        self._map_reported = False
        return to_reading(values, self.clock.now(), self.map.phases)

    def _failed(self, reason: str) -> None:
        self.failures += 1
        self.last_error = reason
        if self.failures >= 2:
            pause = min(self.backoff_base_s * 2 ** (self.failures - 2), self.backoff_max_s)
            self.next_try = self.clock.now() + timedelta(seconds=pause)

    def close(self) -> None:
        """Close the shared bus (every meter on it); it reopens on the next read."""
        self.bus.close()


def _bus_key(cfg: CircuitMeterConfig) -> tuple[str, ...]:
    if cfg.serial is not None:
        return ("serial", cfg.serial)
    return ("tcp", str(cfg.host), str(cfg.port))


def _line_settings(cfg: CircuitMeterConfig) -> tuple[object, ...]:
    if cfg.serial is not None:
        return (cfg.baud, cfg.parity, cfg.stopbits)
    return (cfg.framer,)


def build_circuit_meters(
    circuits: Sequence[CircuitConfig], clock: _Clock | None = None
) -> list[ModbusCircuitMeter]:
    """One `ModbusCircuitMeter` per metered circuit; meters on the same serial port or TCP endpoint
    share one client and one lock. Nothing is opened yet (the first `read` connects).

    Raises `ModbusConfigError` when meters on one bus disagree on its settings or share a unit id.
    """
    metered = [(c.id, c.meter) for c in circuits if c.meter is not None]
    groups: dict[tuple[str, ...], list[tuple[str, CircuitMeterConfig]]] = {}
    for cid, cfg in metered:
        groups.setdefault(_bus_key(cfg), []).append((cid, cfg))
    buses: dict[tuple[str, ...], ModbusBus] = {}
    for key, members in groups.items():
        first_id, first = members[0]
        units: dict[int, str] = {}
        for cid, cfg in members:
            if _line_settings(cfg) != _line_settings(first):
                raise ModbusConfigError(
                    f"circuits {first_id!r} and {cid!r} share {cfg.bus} but differ in its settings "
                    f"{_line_settings(first)} vs {_line_settings(cfg)}: one bus runs at one setting"
                )
            if cfg.unit_id in units:
                raise ModbusConfigError(
                    f"circuits {units[cfg.unit_id]!r} and {cid!r} both use unit_id {cfg.unit_id} on "
                    f"{cfg.bus}: each meter on a bus needs its own unit id"
                )
            units[cfg.unit_id] = cid
        buses[key] = ModbusBus(first, max(cfg.timeout_s for _, cfg in members))
    return [ModbusCircuitMeter(cid, cfg, buses[_bus_key(cfg)], clock) for cid, cfg in metered]
