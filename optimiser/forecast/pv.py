"""PV power from weather with pvlib: clear sky, cloud cover → irradiance, PVWatts ModelChain.

Imports pvlib and pandas at module import: only the worker process (or a CLI command) imports this
module, never the daemon. Power is the mean over each quarter-hour slot, evaluated at the slot's
midpoint (the sun moves little in 7.5 min). Canonical pvlib names: ghi, dni, dhi, temp_air,
wind_speed, poa_global.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from pvlib import irradiance
from pvlib.atmosphere import alt2pres
from pvlib.location import Location
from pvlib.modelchain import ModelChain
from pvlib.pvsystem import Array, FixedMount, PVSystem
from pvlib.temperature import TEMPERATURE_MODEL_PARAMETERS

from optimiser.forecast.config import PvConfig
from optimiser.forecast.slots import SLOT

LARSON_OFFSET = 0.35  #: GHI fraction left under full overcast (Larson et al. 2016) [-]
CN_OFFSET = 0.75  #: clear-sky transmittance for Campbell–Norman [-]
MAX_GAP_H = 6.0  #: longest gap between forecast instants that is interpolated [h]
MOUNTING = {"roof": "close_mount_glass_glass", "open_rack": "open_rack_glass_polymer"}


@contextmanager
def quiet_pandas_deprecations() -> Iterator[None]:
    """Hide the one pandas-3 deprecation pvlib 0.16 triggers (``DatetimeIndex.dayofyear``).

    Only that message is ignored; any other warning still surfaces (tests turn warnings to errors).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"DatetimeIndex\.dayofyear is deprecated")
        yield


@dataclass(frozen=True)
class Site:
    latitude: float  #: [°N]
    longitude: float  #: [°E]
    timezone: str  #: IANA name
    altitude_m: float | None = None  #: None = pvlib's bundled altitude lookup [m]

    def location(self) -> Location:
        return Location(self.latitude, self.longitude, tz=self.timezone, altitude=self.altitude_m)


def midpoints(slot_starts: Sequence[datetime]) -> pd.DatetimeIndex:
    """Slot midpoints as a UTC DatetimeIndex."""
    return pd.DatetimeIndex([t + SLOT / 2 for t in slot_starts]).tz_convert("UTC")


def build_system(pv: PvConfig) -> PVSystem:
    """A PVSystem of PVWatts arrays; each array's losses scale its ``pdc0`` (PVWatts is linear in it)."""
    arrays = [
        Array(
            mount=FixedMount(surface_tilt=a.tilt_deg, surface_azimuth=a.azimuth_deg),
            module_parameters={
                "pdc0": a.kwp * 1000.0 * (1.0 - a.losses_percent / 100.0),
                "gamma_pdc": a.gamma_pdc_per_c,
            },
            temperature_model_parameters=TEMPERATURE_MODEL_PARAMETERS["sapm"][MOUNTING[a.mounting]],
            name=a.name,
        )
        for a in pv.array
    ]
    ac_kw = pv.inverter_kw if pv.inverter_kw is not None else sum(a.kwp for a in pv.array)
    inverter = {"pdc0": ac_kw * 1000.0 / pv.inverter_efficiency, "eta_inv_nom": pv.inverter_efficiency}
    return PVSystem(arrays=arrays, inverter_parameters=inverter)


def model_chain(pv: PvConfig, site: Site) -> ModelChain:
    """PVWatts ModelChain (Perez transposition, physical IAM, SAPM cell temperature, no extra losses)."""
    return ModelChain.with_pvwatts(build_system(pv), site.location(), losses_model="no_loss")


def clear_sky(site: Site, times: pd.DatetimeIndex) -> pd.DataFrame:
    """Ineichen clear-sky ghi, dni, dhi [W/m²] (Linke turbidity from pvlib's bundled file)."""
    with quiet_pandas_deprecations():
        return site.location().get_clearsky(times, model="ineichen")


def cloud_to_irradiance(
    site: Site, times: pd.DatetimeIndex, cloud_pct: np.ndarray, model: str = "larson"
) -> pd.DataFrame:
    """ghi, dni, dhi [W/m²] under a total cloud cover ``cloud_pct`` [%].

    - ``larson``: ``ghi = (0.35 + 0.65·(1 − cc))·ghi_clear`` (Larson et al. 2016), DNI by DISC,
      ``dhi = ghi − dni·cos(zenith)``; the method of the former ``pvlib.forecast`` module.
    - ``campbell_norman``: transmittance ``τ = 0.75·(1 − cc)`` into `pvlib.irradiance.campbell_norman`.
    """
    cc = np.clip(np.asarray(cloud_pct, dtype=float) / 100.0, 0.0, 1.0)
    with quiet_pandas_deprecations():
        loc = site.location()
        solpos = loc.get_solarposition(times)
        if model == "campbell_norman":
            out = irradiance.campbell_norman(
                solpos["apparent_zenith"],
                CN_OFFSET * (1.0 - cc),
                pressure=alt2pres(loc.altitude),
                dni_extra=irradiance.get_extra_radiation(times),
            )
            frame = pd.DataFrame({"ghi": out["ghi"], "dni": out["dni"], "dhi": out["dhi"]}, index=times)
        elif model == "larson":
            ghi = (LARSON_OFFSET + (1.0 - LARSON_OFFSET) * (1.0 - cc)) * loc.get_clearsky(times)["ghi"]
            dni = irradiance.disc(ghi, solpos["zenith"], times)["dni"]
            dhi = ghi - dni * np.cos(np.radians(solpos["zenith"]))
            frame = pd.DataFrame({"ghi": ghi, "dni": dni, "dhi": dhi}, index=times)
        else:
            raise ValueError(f"unknown cloud model {model!r}, expected larson or campbell_norman")
    return frame.fillna(0.0).clip(lower=0.0)


def ac_power(mc: ModelChain, weather: pd.DataFrame) -> np.ndarray:
    """Run the chain on ``weather`` (ghi, dni, dhi[, temp_air, wind_speed]); AC power ≥ 0 [W]."""
    with quiet_pandas_deprecations():
        mc.run_model(weather)
    ac = mc.results.ac
    return np.clip(np.nan_to_num(np.asarray(ac, dtype=float)), 0.0, None)


def interpolate_weather(
    points: Sequence[dict[str, Any]], times: pd.DatetimeIndex
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Linear interpolation of instant forecasts to ``times``.

    Returns (covered mask, cloud [%], temp_air [°C], wind_speed [m/s]). ``covered`` is False
    outside the forecast's span and inside gaps longer than ``MAX_GAP_H`` (MET's coarsest step is
    6 h; a longer gap means a truncated or damaged file). Missing temperature → 20 °C, missing
    wind → 1 m/s.
    """
    tp = np.array([pd.Timestamp(p["time"]).timestamp() for p in points], dtype=float)
    tx = np.array([t.timestamp() for t in times], dtype=float)
    if len(tp) == 0:
        covered = np.zeros(len(tx), dtype=bool)
    else:
        right = np.clip(np.searchsorted(tp, tx), 1, max(len(tp) - 1, 1))
        gap = tp[right] - tp[right - 1] if len(tp) > 1 else np.zeros(len(tx))
        covered = (tx >= tp[0]) & (tx <= tp[-1]) & (gap <= MAX_GAP_H * 3600.0)

    def interp(key: str, default: float) -> np.ndarray:
        vals = np.array([default if p.get(key) is None else float(p[key]) for p in points], dtype=float)
        return np.interp(tx, tp, vals)

    return (
        covered,
        interp("cloud_area_fraction_pct", 0.0),
        interp("air_temperature_c", 20.0),
        interp("wind_speed_m_s", 1.0),
    )


@dataclass
class PvSeries:
    """Per-slot PV forecast of one system."""

    ac_w: list[float]  #: mean AC power per slot [W]
    clear_sky_ac_w: list[float]  #: same system under clear sky, no derate [W]
    ghi_w_m2: list[float]  #: modelled global horizontal irradiance [W/m²]
    covered: list[bool]  #: per slot: power came from the weather forecast


def forecast_pv(
    pv: PvConfig,
    site: Site,
    slot_starts: Sequence[datetime],
    weather: Sequence[dict[str, Any]] | None,
) -> PvSeries:
    """PV forecast per slot; where the weather does not cover a slot, clear-sky × ``clear_sky_derate``."""
    times = midpoints(slot_starts)
    mc = model_chain(pv, site)
    cs = clear_sky(site, times)
    clear_ac = ac_power(mc, cs[["ghi", "dni", "dhi"]])
    ac = clear_ac * pv.clear_sky_derate
    ghi = cs["ghi"].to_numpy() * pv.clear_sky_derate
    covered = np.zeros(len(times), dtype=bool)
    if weather:
        covered, cloud, temp, wind = interpolate_weather(weather, times)
        if covered.any():
            irr = cloud_to_irradiance(site, times, cloud, pv.cloud_model)
            frame = irr.assign(temp_air=temp, wind_speed=wind)
            wx_ac = ac_power(model_chain(pv, site), frame)
            ac = np.where(covered, wx_ac, ac)
            ghi = np.where(covered, irr["ghi"].to_numpy(), ghi)
    return PvSeries(
        [float(x) for x in ac],
        [float(x) for x in clear_ac],
        [float(x) for x in ghi],
        [bool(c) for c in covered],
    )
