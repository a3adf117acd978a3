"""Configuration of per-circuit Modbus meters ([[circuit]] in hems.toml). Owned by the Modbus driver.

A circuit's meter is either a built-in model (``sdm120``, ``sdm230``, ``sdm630``, ``sdm72d``,
``sdm72dv2``, ``em340``) or ``custom``, in which case its registers are listed in the config exactly as
the manufacturer's manual gives them::

    [circuit.meter]
    model = "custom"
    serial = "/dev/ttyUSB0"
    unit_id = 5
    [[circuit.meter.register]]
    field = "p_w"          # a CircuitReading field; its suffix is the unit it ends up in (W)
    address = 0x0012       # start address as sent on the wire (register 30019 -> 0x0012)
    type = "int32"         # float32|float64|int16|uint16|int32|uint32|int64|uint64
    word_order = "little"  # "big": most significant word first; "little": least significant first
    scale = 0.1            # value = raw x scale, in `unit`
    unit = "W"             # converted to the field's unit (W, kW -> p_w in W)
"""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Line = Literal["L1", "L2", "L3", "L1L2", "L2L3", "L1L3", "3P"]
MeterModel = Literal["sdm120", "sdm230", "sdm630", "sdm72d", "sdm72dv2", "em340", "custom"]
RegisterType = Literal["float32", "float64", "int16", "uint16", "int32", "uint32", "int64", "uint64"]
WordOrder = Literal["big", "little"]
Function = Literal["input", "holding"]
#: 16-bit registers per value type
TYPE_WORDS = {
    "int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2, "int64": 4, "uint64": 4, "float64": 4,
}  # fmt: skip

#: Factory serial speed of models that do not ship at 9600 baud (Eastron SDM120 protocol v2.4/v2.5)
FACTORY_BAUD = {"sdm120": 2400}
#: Models that measure one phase only
SINGLE_PHASE_MODELS = ("sdm120", "sdm230")

#: The CircuitReading fields a register may fill, each with its canonical unit.
FIELD_UNITS: dict[str, str] = {
    "u_v": "V",
    "i_a": "A",
    "p_w": "W",
    "e_import_kwh": "kWh",
    "e_export_kwh": "kWh",
    "pf": "",
    "f_hz": "Hz",
    "i_l1_a": "A",
    "i_l2_a": "A",
    "i_l3_a": "A",
    "u_l1_v": "V",
    "u_l2_v": "V",
    "u_l3_v": "V",
    "p_l1_w": "W",
    "p_l2_w": "W",
    "p_l3_w": "W",
}

#: Units a manual may state, as a factor to the canonical unit of their dimension.
UNIT_FACTORS: dict[str, dict[str, float]] = {
    "V": {"V": 1.0, "mV": 1e-3, "kV": 1e3},
    "A": {"A": 1.0, "mA": 1e-3},
    "W": {"W": 1.0, "kW": 1e3, "MW": 1e6},
    "kWh": {"kWh": 1.0, "Wh": 1e-3, "MWh": 1e3},
    "Hz": {"Hz": 1.0, "mHz": 1e-3},
    "": {"": 1.0, "1": 1.0, "%": 1e-2},
}

Quantity = Literal[
    "u_v", "i_a", "p_w", "e_import_kwh", "e_export_kwh", "pf", "f_hz", "i_l1_a", "i_l2_a", "i_l3_a",
    "u_l1_v", "u_l2_v", "u_l3_v", "p_l1_w", "p_l2_w", "p_l3_w",
]  # fmt: skip


def unit_factor(field: str, unit: str) -> float:
    """Factor from ``unit`` to the canonical unit of ``field`` (``kW`` for ``p_w`` -> 1000).

    Raises ValueError naming the units that would fit.
    """
    allowed = UNIT_FACTORS[FIELD_UNITS[field]]
    if unit not in allowed:
        choices = ", ".join(repr(u) for u in allowed)
        raise ValueError(f"unit {unit!r} does not fit field {field!r}; expected one of {choices}")
    return allowed[unit]


class RegisterConfig(BaseModel):
    """One value of a custom register map, as the meter's manual lists it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # bounds are physical

    field: Quantity
    address: int = Field(ge=0, le=0xFFFF)  #: start address on the wire (0-based, not 30001-style)
    type: RegisterType = "float32"
    word_order: WordOrder = "big"
    scale: float = 1.0  #: value = raw x scale, in ``unit``
    unit: str | None = None  #: None: the field's own unit
    missing: int | None = None  #: raw value the meter sends for "not available" (e.g. 0x7FFFFFFF)

    @model_validator(mode="after")
    def _unit_fits(self) -> RegisterConfig:
        if self.unit is not None and self.unit not in UNIT_FACTORS[FIELD_UNITS[self.field]]:
            units = ", ".join(repr(u) for u in UNIT_FACTORS[FIELD_UNITS[self.field]])
            raise ValueError(f"a unit of {self.field} ({units}), not {self.unit!r}")
        if self.scale == 0:
            raise ValueError("a scale other than 0")
        return self


class CircuitMeterConfig(BaseModel):
    """How to reach one circuit's meter: Modbus TCP (``host``) or RTU on a serial port (``serial``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # bounds are physical

    model: MeterModel
    host: str | None = None  #: Modbus TCP gateway or meter
    port: int = Field(502, ge=1, le=65535)
    framer: Literal["socket", "rtu"] = "socket"  #: "rtu": RTU frames over TCP (transparent gateways)
    serial: str | None = None  #: RS-485 adaptor, e.g. /dev/ttyUSB0
    #: None: the model's factory setting (SDM120: 2400, the others 9600)
    baudrate: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] | None = None
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    unit_id: int = Field(1, ge=1, le=247)
    timeout_s: float = Field(1.0, gt=0, le=10)  #: per request [s]
    #: Limits of the meter (built-in models know theirs; set these to override, or for custom maps).
    function: Function | None = None  #: register table: "input" (FC 04) or "holding" (FC 03)
    max_registers: int | None = Field(None, ge=1, le=125)  #: registers per request
    max_gap: int | None = Field(None, ge=0, le=120)  #: unused registers a request may span
    #: custom map only; ``[[circuit.meter.register]]`` in TOML ("register" is taken on BaseModel)
    registers: list[RegisterConfig] = Field(default_factory=list, alias="register")

    @model_validator(mode="after")
    def _consistent(self) -> CircuitMeterConfig:
        if (self.host is None) == (self.serial is None):
            raise ValueError("exactly one of host (Modbus TCP) or serial (Modbus RTU)")
        if self.model == "custom" and not self.registers:
            raise ValueError('the register map of model "custom" as [[circuit.meter.register]] entries')
        if self.model != "custom" and self.registers:
            raise ValueError(f'no register list for model {self.model!r} (only for model "custom")')
        seen: set[str] = set()
        for reg in self.registers:
            if reg.field in seen:
                raise ValueError(f"each field mapped once; {reg.field!r} is mapped twice")
            seen.add(reg.field)
        ordered = sorted(self.registers, key=lambda r: r.address)
        for a, b in itertools.pairwise(ordered):
            if b.address < a.address + TYPE_WORDS[a.type]:
                raise ValueError(
                    f"registers that do not overlap; {a.field} ({a.type} at {a.address:#06x}) runs "
                    f"into {b.field} (at {b.address:#06x})"
                )
        limit = self.max_registers or 125
        for reg in self.registers:
            if TYPE_WORDS[reg.type] > limit:
                raise ValueError(f"values no longer than max_registers = {limit}; {reg.field} is {reg.type}")
        return self

    @property
    def baud(self) -> int:
        """The bus speed in use: the configured one, else the model's factory setting [baud]."""
        return self.baudrate or FACTORY_BAUD.get(self.model, 9600)

    @property
    def bus(self) -> str:
        """Human name of the bus this meter is on (``/dev/ttyUSB0``, ``tcp 10.0.0.5:502``)."""
        return self.serial if self.serial is not None else f"tcp {self.host}:{self.port}"


class CircuitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # bounds are physical

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str | None = None
    line: Line
    breaker_a: float = Field(gt=0, le=630)
    curve: Literal["B", "C", "D"] = "C"
    meter: CircuitMeterConfig | None = None  #: None: not metered (known only to the simulator/plan)

    @model_validator(mode="after")
    def _meter_fits_line(self) -> CircuitConfig:
        if self.meter is not None and self.line == "3P" and self.meter.model in SINGLE_PHASE_MODELS:
            raise ValueError(
                "a three-phase meter (sdm630, sdm72d, sdm72dv2, em340) on a three-phase circuit, "
                f"not the single-phase {self.meter.model!r}"
            )
        return self
