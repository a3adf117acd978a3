"""Configuration of the smart-meter port ([meter] in hems.toml). Owned by the HAN/P1 reader."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class MeterConfig(BaseModel):
    """``[meter]``: where the smart meter is plugged in and what the frames alone do not say.

    Serial settings left out are detected: 2400 8E1 (Aidon, Kaifa), 2400 8N1 (Kamstrup),
    115200 8N1 (DSMR 4/5, Swedish/Danish P1), 9600 7E1 (DSMR 2.2/3.0) are tried in turn.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # bounds are physical

    port: str  #: serial device, e.g. /dev/ttyUSB0 (prefer a /dev/serial/by-id/ path)
    id: str = Field("grid", pattern=r"^[a-z0-9][a-z0-9-]*$")  #: device id in readings and alerts
    format: Literal["auto", "han", "p1"] = "auto"
    baudrate: int | None = Field(None, gt=0)  #: None: the meter's standard setting, detected
    parity: Literal["N", "E", "O"] | None = None
    bytesize: Literal[7, 8] | None = None
    country: Literal["NO", "SE", "DK", "NL", "BE", "LU", "AT", "CH", "PL", "FI"] = "NO"
    timezone: str | None = None  #: the meter clock's IANA zone; None: the country's
    key: str | None = None  #: AES-128 encryption key (hex), when the grid company encrypts the port
    auth_key: str | None = None  #: authentication key (hex), if any
    kamstrup_energy_wh: Literal[1, 10] | None = None  #: Wh per count; None: 10 (NO, DK), 1 (SE)
    max_age_s: float = Field(30.0, gt=0)  #: [s] a reading older than this is "no reading"
    detect_dwell_s: float = Field(12.0, gt=0)  #: [s] time given to each setting while detecting
    reopen_delay_s: float = Field(2.0, gt=0)  #: [s] wait before reopening a lost adapter

    @field_validator("key", "auth_key")
    @classmethod
    def _hex_key(cls, value: str | None) -> str | None:
        from devices.han.dlms import normalise_key

        return None if value is None else normalise_key(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"an IANA time zone such as Europe/Oslo, got {value!r}") from None
        return value
