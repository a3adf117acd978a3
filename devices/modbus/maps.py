"""Register maps of the supported meters, declared as data, and the pure functions that use them.

Each map lists what the manufacturer's manual lists: start address (as sent on the wire, 0-based),
data type, word order, scale and unit. Nothing here does I/O:

- `plan_blocks` groups a map's registers into as few read requests as the meter allows;
- `decode_value` turns raw 16-bit words into a number (pure, tested from raw words);
- `parse_blocks` decodes a whole read into ``{field: value}`` in the field's unit;
- `check_plausible` names values outside the physical range (the sign of a wrong map);
- `to_reading` builds the `CircuitReading` (totals of a three-phase meter included).

Sources: Eastron protocol PDFs (SDM120 v2.4/v2.5, SDM230 v1.1, SDM630 v1.8/v2.0, SDM72D-M v1.5/v2),
Carlo Gavazzi EM330/EM340/ET330/ET340 communication protocol; see /work/shared/research/domain.md D.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from devices.modbus.config import FIELD_UNITS, CircuitMeterConfig, unit_factor
from devices.natures import CircuitReading

#: words per type, and the struct code of the big-endian value
_TYPES: dict[str, tuple[int, str]] = {
    "int16": (1, ">h"),
    "uint16": (1, ">H"),
    "int32": (2, ">i"),
    "uint32": (2, ">I"),
    "float32": (2, ">f"),
    "int64": (4, ">q"),
    "uint64": (4, ">Q"),
    "float64": (4, ">d"),
}


@dataclass(frozen=True, slots=True)
class Register:
    """One value in a meter's register table."""

    field: str  #: CircuitReading field it fills (unit in the name)
    address: int  #: start address on the wire (30001-style register number minus 30001)
    type: str = "float32"
    word_order: str = "big"  #: "big": most significant word first (Eastron); "little": LSW first
    scale: float = 1.0  #: value = raw x scale, in ``unit``
    unit: str | None = None  #: the manual's unit; None: the field's own unit
    missing: int | None = None  #: raw value meaning "not available"

    @property
    def words(self) -> int:
        return _TYPES[self.type][0]

    @property
    def end(self) -> int:
        """First address after this value."""
        return self.address + self.words


@dataclass(frozen=True, slots=True)
class MeterMap:
    """A meter model's register map and its protocol limits."""

    model: str
    description: str
    registers: tuple[Register, ...]
    phases: int = 1  #: 3: fill per-line fields and derive totals
    function: str = "input"  #: "input" (FC 04) or "holding" (FC 03)
    max_registers: int = 80  #: registers per request the meter accepts
    max_gap: int = 0  #: unused registers a request may span (the meter answers 0 for them)


@dataclass(frozen=True, slots=True)
class Block:
    """One read request: ``count`` registers from ``start``, holding ``registers``."""

    start: int
    count: int
    registers: tuple[Register, ...]


def _eastron(field: str, address: int, unit: str | None = None) -> Register:
    return Register(field, address, "float32", "big", 1.0, unit)


def _gavazzi(field: str, address: int, scale: float, type_: str = "int32") -> Register:
    # INT32 least significant word first; 0x7FFFFFFF marks a value the meter does not have
    return Register(field, address, type_, "little", scale, None, 0x7FFFFFFF if type_ == "int32" else None)


_EASTRON_1P = (
    _eastron("u_v", 0x0000, "V"),
    _eastron("i_a", 0x0006, "A"),
    _eastron("p_w", 0x000C, "W"),
    _eastron("pf", 0x001E),
    _eastron("f_hz", 0x0046, "Hz"),
    _eastron("e_import_kwh", 0x0048, "kWh"),
    _eastron("e_export_kwh", 0x004A, "kWh"),
)

_EASTRON_3P = (
    _eastron("u_l1_v", 0x0000, "V"),
    _eastron("u_l2_v", 0x0002, "V"),
    _eastron("u_l3_v", 0x0004, "V"),
    _eastron("i_l1_a", 0x0006, "A"),
    _eastron("i_l2_a", 0x0008, "A"),
    _eastron("i_l3_a", 0x000A, "A"),
    _eastron("p_l1_w", 0x000C, "W"),
    _eastron("p_l2_w", 0x000E, "W"),
    _eastron("p_l3_w", 0x0010, "W"),
    _eastron("p_w", 0x0034, "W"),  # total system power
    _eastron("pf", 0x003E),  # total system power factor
    _eastron("f_hz", 0x0046, "Hz"),
    _eastron("e_import_kwh", 0x0048, "kWh"),
    _eastron("e_export_kwh", 0x004A, "kWh"),
)

MAPS: dict[str, MeterMap] = {
    m.model: m
    for m in (
        MeterMap("sdm120", "Eastron SDM120-Modbus (1P, 45 A)", _EASTRON_1P, max_gap=80),
        MeterMap("sdm230", "Eastron SDM230-Modbus (1P, 100 A)", _EASTRON_1P, max_gap=80),
        MeterMap("sdm630", "Eastron SDM630-Modbus v1/v2 (3P, 100 A)", _EASTRON_3P, phases=3, max_gap=80),
        # SDM72D-M v1 has only totals; it is read value by value block (no spanning of unknown gaps)
        MeterMap(
            "sdm72d",
            "Eastron SDM72D-M v1 (3P, totals only)",
            (
                _eastron("p_w", 0x0034, "W"),
                _eastron("e_import_kwh", 0x0048, "kWh"),
                _eastron("e_export_kwh", 0x004A, "kWh"),
            ),
            phases=3,
            max_gap=0,
        ),
        MeterMap("sdm72dv2", "Eastron SDM72D-M v2 (3P, per line)", _EASTRON_3P, phases=3, max_gap=80),
        MeterMap(
            "em340",
            "Carlo Gavazzi EM340/EM330/ET340 (3P, 65 A)",
            (
                _gavazzi("u_l1_v", 0x0000, 0.1),
                _gavazzi("u_l2_v", 0x0002, 0.1),
                _gavazzi("u_l3_v", 0x0004, 0.1),
                _gavazzi("i_l1_a", 0x000C, 0.001),
                _gavazzi("i_l2_a", 0x000E, 0.001),
                _gavazzi("i_l3_a", 0x0010, 0.001),
                _gavazzi("p_l1_w", 0x0012, 0.1),
                _gavazzi("p_l2_w", 0x0014, 0.1),
                _gavazzi("p_l3_w", 0x0016, 0.1),
                _gavazzi("p_w", 0x0028, 0.1),
                _gavazzi("pf", 0x0031, 0.001, "int16"),
                _gavazzi("f_hz", 0x0033, 0.1, "uint16"),
                _gavazzi("e_import_kwh", 0x0034, 0.1),
                _gavazzi("e_export_kwh", 0x004E, 0.1),
            ),
            phases=3,
            max_registers=50,  # [verify] Gavazzi protocols allow 50 words per read
            max_gap=50,
        ),
    )
}


def meter_map(cfg: CircuitMeterConfig) -> MeterMap:
    """The map a configured meter is read with: built-in, or the custom one from the config.

    The config's ``function``, ``max_registers`` and ``max_gap`` override the model's limits.
    """
    if cfg.model == "custom":
        regs = tuple(
            Register(r.field, r.address, r.type, r.word_order, r.scale, r.unit, r.missing)
            for r in cfg.registers
        )
        fields = {r.field for r in regs}
        phases = 3 if fields & {"u_l2_v", "i_l2_a", "p_l2_w", "u_l3_v", "i_l3_a", "p_l3_w"} else 1
        base = MeterMap("custom", "custom register map", regs, phases=phases, max_registers=64)
    else:
        base = MAPS[cfg.model]
    return MeterMap(
        base.model,
        base.description,
        base.registers,
        base.phases,
        cfg.function or base.function,
        cfg.max_registers or base.max_registers,
        base.max_gap if cfg.max_gap is None else cfg.max_gap,
    )


def plan_blocks(registers: Iterable[Register], max_registers: int, max_gap: int = 0) -> list[Block]:
    """Group registers into the fewest read requests: each at most ``max_registers`` long, spanning
    at most ``max_gap`` unused registers between two values. Raises ValueError on overlapping values
    or a value longer than ``max_registers``."""
    regs = sorted(registers, key=lambda r: r.address)
    blocks: list[Block] = []
    current: list[Register] = []
    for reg in regs:
        if reg.words > max_registers:
            raise ValueError(f"{reg.field} at 0x{reg.address:04X} is longer than {max_registers} registers")
        if current:
            start, end = current[0].address, max(r.end for r in current)
            if reg.address < end:
                raise ValueError(
                    f"{reg.field} at 0x{reg.address:04X} overlaps {current[-1].field} "
                    f"at 0x{current[-1].address:04X}"
                )
            if reg.address - end <= max_gap and reg.end - start <= max_registers:
                current.append(reg)
                continue
            blocks.append(_block(current))
        current = [reg]
    if current:
        blocks.append(_block(current))
    return blocks


def _block(regs: Sequence[Register]) -> Block:
    start = regs[0].address
    return Block(start, max(r.end for r in regs) - start, tuple(regs))


def _shortest_float32(value: float) -> float:
    """The shortest decimal that is the same float32: 230.10000610351562 -> 230.1."""
    if not math.isfinite(value):
        return value
    for digits in range(6, 10):
        candidate = float(f"{value:.{digits}g}")
        if struct.unpack(">f", struct.pack(">f", candidate))[0] == value:
            return candidate
    return value


def decode_raw(words: Sequence[int], type_: str, word_order: str = "big") -> int | float:
    """Raw number from 16-bit register words (before scale). ``word_order="little"``: LSW first."""
    n, code = _TYPES[type_]
    if len(words) != n:
        raise ValueError(f"{type_} needs {n} registers, got {len(words)}")
    ordered = list(words) if word_order == "big" else list(reversed(words))
    raw = struct.unpack(code, b"".join(int(w & 0xFFFF).to_bytes(2, "big") for w in ordered))[0]
    if type_ == "float32":
        return _shortest_float32(raw)
    return raw


def decode_value(words: Sequence[int], reg: Register) -> float | None:
    """The value of ``reg`` in its field's unit, or None when the meter marks it "not available".

    Scale and unit are applied in decimal, so raw 2301 x 0.1 V is exactly 230.1.
    """
    raw = decode_raw(words, reg.type, reg.word_order)
    if reg.missing is not None and raw == reg.missing:
        return None
    if isinstance(raw, float) and not math.isfinite(raw):
        return raw
    factor = Decimal(repr(reg.scale))
    if reg.unit is not None:
        factor *= Decimal(repr(unit_factor(reg.field, reg.unit)))
    if factor == 1:
        return float(raw)
    return float(Decimal(repr(raw)) * factor)


def parse_blocks(blocks: Sequence[Block], words: Sequence[Sequence[int]]) -> dict[str, float | None]:
    """Decode the answers to ``blocks`` (one list of words per block) into ``{field: value}``."""
    values: dict[str, float | None] = {}
    for block, got in zip(blocks, words, strict=True):
        if len(got) != block.count:
            raise ValueError(f"asked for {block.count} registers at 0x{block.start:04X}, got {len(got)}")
        for reg in block.registers:
            offset = reg.address - block.start
            values[reg.field] = decode_value(got[offset : offset + reg.words], reg)
    return values


#: Physically possible ranges per unit: (low, high, lowest non-zero magnitude) in the field's unit.
#: A voltage or frequency is 0 (phase off) or in the mains band; a wrong map gives 1e-39 or 4e7.
_RANGES: dict[str, tuple[float, float, float]] = {
    "V": (0.0, 500.0, 40.0),
    "A": (-0.5, 1000.0, 0.0),
    "W": (-500_000.0, 500_000.0, 0.0),
    "kWh": (0.0, 1e9, 0.0),
    "Hz": (0.0, 70.0, 40.0),
    "": (-1.0001, 1.0001, 0.0),
}


def check_plausible(values: Mapping[str, float | None]) -> list[str]:
    """Values outside the physical range, as ``"u_v=1.2e-39 (expected 0 or 40..500 V)"``."""
    problems = []
    for field, value in values.items():
        if value is None:
            continue
        unit = FIELD_UNITS[field]
        low, high, least = _RANGES[unit]
        ok = math.isfinite(value) and low <= value <= high and (value == 0 or abs(value) >= least)
        if not ok:
            band = f"0 or {least:g}..{high:g}" if least else f"{low:g}..{high:g}"
            problems.append(f"{field}={value:.6g} (expected {band}{' ' + unit if unit else ''})")
    return problems


def _mean(values: Iterable[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return round(sum(got) / len(got), 3) if got else None


def to_reading(values: Mapping[str, float | None], time: datetime, phases: int = 1) -> CircuitReading:
    """A `CircuitReading` from decoded values; a three-phase meter's totals are derived where the map
    has none: ``p_w`` = sum of line powers, ``i_a`` = the largest line current, ``u_v`` = mean."""
    v = dict(values)
    if phases == 3:
        lines = ("l1", "l2", "l3")
        if v.get("p_w") is None and any(v.get(f"p_{ln}_w") is not None for ln in lines):
            v["p_w"] = round(sum(v.get(f"p_{ln}_w") or 0.0 for ln in lines), 3)
        currents = [c for ln in lines if (c := v.get(f"i_{ln}_a")) is not None]
        if v.get("i_a") is None and currents:
            v["i_a"] = max(currents)
        if v.get("u_v") is None:
            v["u_v"] = _mean(v.get(f"u_{ln}_v") for ln in lines)
    return CircuitReading(time=time, **{k: val for k, val in v.items() if val is not None})
