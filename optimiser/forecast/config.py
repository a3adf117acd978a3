"""PV systems ([pv] and [[pv.array]] in hems.toml). Owned by optimiser/forecast."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PvArrayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "roof"
    kwp: float = Field(gt=0)  #: DC peak power [kWp]
    tilt_deg: float = Field(30.0, ge=0, le=90)
    azimuth_deg: float = Field(180.0, ge=0, lt=360)  #: 180 = south
    losses_percent: float = Field(14.0, ge=0, le=100)


class PvConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    array: list[PvArrayConfig] = Field(default_factory=list)
    inverter_kw: float | None = None
    clear_sky_derate: float = Field(0.8, gt=0, le=1)  #: used when no weather forecast is available
