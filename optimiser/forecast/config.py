"""PV systems ([pv], [[pv.array]] and [pv.weather] in hems.toml). Owned by optimiser/forecast.

Azimuth follows pvlib: degrees east of north, 180 = south. Every array is modelled with the PVWatts
DC model; all arrays feed one inverter of ``inverter_kw`` AC (PVWatts inverter model).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PvArrayConfig(BaseModel):
    """One plane of modules (same tilt and azimuth)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # bounds are physical

    name: str = "roof"
    kwp: float = Field(gt=0)  #: DC peak power at STC [kWp]
    tilt_deg: float = Field(default=30.0, ge=0, le=90)  #: 0 = flat [°]
    azimuth_deg: float = Field(default=180.0, ge=0, lt=360)  #: 180 = south [°]
    losses_percent: float = Field(default=14.0, ge=0, le=100)  #: DC losses: soiling, wiring, mismatch... [%]
    gamma_pdc_per_c: float = Field(default=-0.004, ge=-0.02, le=0)  #: power temperature coefficient [1/°C]
    #: mounting → cell-temperature model (SAPM): roof = close_mount_glass_glass, open_rack = open rack.
    mounting: Literal["roof", "open_rack"] = "roof"


class WeatherConfig(BaseModel):
    """Where the weather forecast comes from (MET Norway Locationforecast 2.0 compact)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # bounds are physical

    #: "met": MET Norway (needs ``contact``); "none": clear-sky with ``clear_sky_derate``.
    source: Literal["met", "none"] = "met"
    #: Contact sent in the User-Agent as MET's terms require (an e-mail or a web site). Without it
    #: the API is not called and the forecast falls back to clear-sky.
    contact: str | None = Field(default=None, min_length=3)
    url: str = "https://api.met.no/weatherapi/locationforecast/2.0/compact"
    cache_dir: str | None = None  #: default: $XDG_CACHE_HOME/hems or ~/.cache/hems
    timeout_s: float = Field(default=10.0, gt=0, le=120)


class PvConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # bounds are physical

    array: list[PvArrayConfig] = Field(default_factory=list)
    inverter_kw: float | None = Field(default=None, gt=0)  #: AC rating; None = sum of the arrays' kWp [kW]
    inverter_efficiency: float = Field(default=0.96, gt=0.5, le=1)  #: nominal inverter efficiency [-]
    #: clear-sky × this when there is no weather and nothing learned yet; 0.65 ≈ the mean ratio of
    #: actual to clear-sky global irradiation in the 15 DWD test reference years (docs/forecast.md)
    clear_sky_derate: float = Field(default=0.65, gt=0, le=1)
    altitude_m: float | None = None  #: site altitude; None = pvlib's bundled lookup [m]
    cloud_model: Literal["larson", "campbell_norman"] = "larson"
    bias_days: int = Field(default=28, ge=0, le=120)  #: days of measured PV used for the bias correction
    weather: WeatherConfig = Field(default_factory=lambda: WeatherConfig())
