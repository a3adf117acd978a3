"""Configuration of the smart-meter port ([meter] in hems.toml). Owned by the HAN/P1 reader."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class MeterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    port: str  #: serial device, e.g. /dev/ttyUSB0
    format: Literal["auto", "han", "p1"] = "auto"
    baudrate: int | None = None  #: None: the meter's standard setting
    parity: Literal["N", "E", "O"] | None = None
    country: Literal["NO", "SE", "DK", "NL", "BE", "LU", "AT", "CH", "PL", "FI"] = "NO"
    key: str | None = None  #: AES-128 encryption key (hex), when the grid company encrypts the port
    auth_key: str | None = None  #: authentication key (hex), if any
