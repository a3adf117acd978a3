"""Configuration of per-circuit Modbus meters ([[circuit]] in hems.toml). Owned by the Modbus driver."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Line = Literal["L1", "L2", "L3", "L1L2", "L2L3", "L1L3", "3P"]


class CircuitMeterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Literal["sdm120", "sdm230", "sdm630", "sdm72d", "em340", "custom"]
    host: str | None = None
    port: int = 502
    serial: str | None = None
    baudrate: int = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: int = 1
    unit_id: int = Field(1, ge=1, le=247)
    timeout_s: float = 1.0


class CircuitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str | None = None
    line: Line
    breaker_a: float = Field(gt=0)
    curve: Literal["B", "C", "D"] = "C"
    meter: CircuitMeterConfig | None = None  #: None: not metered (known only to the simulator/plan)
