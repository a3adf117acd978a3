"""Battery inverters over Modbus TCP with SunSpec models, the register maps declared as data.

The device's model chain starts with ``SunS`` at 40000 (or 0, or 50000); the driver walks it for
the models it uses:

- **103** (three-phase inverter; 101/102 single/split phase have the same layout): ``W`` [W, +
  to the grid: the battery discharging], scale ``W_SF``;
- **124** (basic storage controls): ``WChaMax`` [W], ``StorCtl_Mod`` (bit 0 charge, bit 1
  discharge limited), ``ChaState`` [% of capacity], ``OutWRte``/``InWRte`` [% of WChaMax, discharge
  /charge], ``InOutWRte_RvrtTms`` [s] (the inverter falls back to its own control if the box goes
  quiet), each with its scale factor.

`SunSpecBattery` is the `Actuator`: a charge set-point (W > 0) is ``StorCtl_Mod = 1`` and
``InWRte``; a discharge (W < 0) ``StorCtl_Mod = 2`` and ``OutWRte``; None hands control back
(``StorCtl_Mod = 0``, self-consumption). It reads back the state of charge, the power and the
rates in force, so `base.Follow` knows the set-point took. I/O runs in tasks on the loop; ``poll``
returns the newest reading without waiting.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from devices.appliances.drivers.base import Reading

log = logging.getLogger(__name__)

BASES = (40000, 0, 50000)
SUNS = (0x5375, 0x6E53)
#: model id → point → (offset after the 2-word header, type); scale factors are points too
MODELS: dict[int, dict[str, tuple[int, str]]] = {
    103: {"W": (12, "int16"), "W_SF": (13, "sunssf")},
    124: {
        "WChaMax": (0, "uint16"),
        "StorCtl_Mod": (3, "uint16"),
        "ChaState": (6, "uint16"),
        "OutWRte": (10, "int16"),
        "InWRte": (11, "int16"),
        "InOutWRte_RvrtTms": (13, "uint16"),
        "WChaMax_SF": (16, "sunssf"),
        "ChaState_SF": (20, "sunssf"),
        "InOutWRte_SF": (23, "sunssf"),
    },
}
INVERTERS = (101, 102, 103)  #: same points at the same offsets
REVERT_S = 120  #: the inverter's own control again after this long without a set-point [s]


def signed(word: int) -> int:
    return word - 0x10000 if word >= 0x8000 else word


def point(words: list[int], model: int, name: str) -> int:
    offset, kind = MODELS[model][name]
    w = words[offset]
    return signed(w) if kind in ("int16", "sunssf") else w


def scaled(words: list[int], model: int, name: str) -> float:
    return point(words, model, name) * 10.0 ** point(words, model, f"{name}_SF")


class SunSpecError(Exception):
    pass


class SunSpecBattery:
    """One SunSpec battery inverter (see the module docstring)."""

    def __init__(
        self,
        appliance_id: str,
        host: str,
        port: int,
        unit_id: int,
        capacity_kwh: float,
        max_w: float,
        timeout_s: float = 2.0,
    ) -> None:
        self.id = appliance_id
        self.host, self.port, self.unit_id = host, port, unit_id
        self.capacity_kwh = capacity_kwh
        self.max_w = max_w
        self.timeout_s = timeout_s
        self.models: dict[int, int] = {}  #: model id → address of its first point
        self.reading: Reading | None = None
        self._client: Any = None
        self._want: float | bool | None = False  #: False: nothing commanded yet
        self._written: float | bool | None = False
        self._task: asyncio.Task[None] | None = None
        self._problems: list[str] = []

    def problems(self) -> list[str]:
        out, self._problems = self._problems, []
        return out

    def command(self, now: datetime, w: float | None) -> None:
        self._want = w
        self._kick(now)

    def poll(self, now: datetime) -> Reading | None:
        self._kick(now)
        return self.reading

    def _kick(self, now: datetime) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._io(now))

    async def _io(self, now: datetime) -> None:
        try:
            client = await self._connected()
            if not self.models:
                await self._discover(client)
            if self._want is not False and self._want != self._written:
                await self._write(client, self._want)
                self._written = self._want
            await self._read(client, now)
            if self._want is not False and self._want != self._written:
                # told while this exchange was under way (a cycle polls, then commands): now, not a
                # cycle later
                await self._write(client, self._want)
                self._written = self._want
                await self._read(client, now)
        except (SunSpecError, TimeoutError, ConnectionError, OSError) as exc:
            self._problems.append(f"{self.id}: SunSpec inverter at {self.host}:{self.port}: {exc}")
            if self._client is not None:
                self._client.close()
                self._client = None
        except Exception as exc:  # pymodbus' own errors: reported, the cycle goes on
            self._problems.append(f"{self.id}: SunSpec inverter: {type(exc).__name__}: {exc}")

    async def _connected(self) -> Any:
        from pymodbus.client import AsyncModbusTcpClient

        if self._client is None:
            self._client = AsyncModbusTcpClient(self.host, port=self.port, timeout=self.timeout_s, retries=0)
        if not self._client.connected and not await asyncio.wait_for(self._client.connect(), self.timeout_s):
            raise SunSpecError("cannot connect")
        return self._client

    async def _words(self, client: Any, address: int, count: int) -> list[int]:
        rr = await asyncio.wait_for(
            client.read_holding_registers(address, count=count, device_id=self.unit_id), self.timeout_s
        )
        if rr.isError():
            raise SunSpecError(f"refused registers {address}..{address + count - 1}")
        return list(rr.registers)

    async def _discover(self, client: Any) -> None:
        for base in BASES:
            try:
                marker = await self._words(client, base, 2)
            except SunSpecError:
                continue
            if tuple(marker) != SUNS:
                continue
            address = base + 2
            for _ in range(50):
                model, length = await self._words(client, address, 2)
                if model == 0xFFFF:
                    break
                self.models[model] = address + 2
                address += 2 + length
            break
        if 124 not in self.models or not any(m in self.models for m in INVERTERS):
            found = sorted(self.models) or "no SunSpec marker"
            self.models = {}
            raise SunSpecError(f"needs SunSpec models 103 (or 101/102) and 124, found {found}")

    def _inverter(self) -> int:
        return next(m for m in INVERTERS if m in self.models)

    async def _read(self, client: Any, now: datetime) -> None:
        inv = self._inverter()
        w = await self._words(client, self.models[inv], 14)
        s = await self._words(client, self.models[124], 24)
        ac_w = point(w, 103, "W") * 10.0 ** point(w, 103, "W_SF")
        soc_pct = scaled(s, 124, "ChaState")
        mode = point(s, 124, "StorCtl_Mod")
        wmax = scaled(s, 124, "WChaMax")
        rate = 10.0 ** point(s, 124, "InOutWRte_SF")
        limit: float | None = None
        if mode == 1:
            limit = point(s, 124, "InWRte") * rate / 100.0 * wmax
        elif mode == 2:
            limit = -point(s, 124, "OutWRte") * rate / 100.0 * wmax
        elif mode == 3:
            limit = 0.0
        soc = soc_pct / 100.0 * self.capacity_kwh
        self.reading = Reading(now, None, -ac_w, None, limit, soc)  # + charging

    async def _write(self, client: Any, w: float | None) -> None:
        s = await self._words(client, self.models[124], 24)
        wmax = scaled(s, 124, "WChaMax")
        sf = point(s, 124, "InOutWRte_SF")
        base = self.models[124]
        if w is None:
            regs = {3: 0}
        else:
            pct = min(abs(w) / wmax * 100.0, 100.0) if wmax > 0 else 0.0
            raw = round(pct / 10.0**sf)
            regs = {3: 3, 10: 0, 11: 0} if abs(w) < 1 else ({3: 1, 11: raw} if w > 0 else {3: 2, 10: raw})
            regs[13] = REVERT_S
        for offset, value in sorted(regs.items()):
            rr = await asyncio.wait_for(
                client.write_register(base + offset, value & 0xFFFF, device_id=self.unit_id), self.timeout_s
            )
            if rr.isError():
                raise SunSpecError(f"refused the set-point (register {base + offset})")

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._client is not None:
            self._client.close()
