"""Clear-sky PV production for the twin, computed with pvlib in a worker process.

pvlib and pandas are heavy; the daemon never imports them. A day's clear-sky AC power profile (one
value per minute of the local day) is computed in a separate process and cached; the next day is
prefetched so a fast simulation never waits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
from dataclasses import dataclass
from datetime import date, timedelta

from lifeline import die_with_parent


@dataclass(frozen=True, slots=True)
class PvSite:
    latitude: float
    longitude: float
    timezone: str
    kwp: float = 6.0  #: DC peak power [kWp]
    tilt_deg: float = 30.0
    azimuth_deg: float = 180.0
    losses_percent: float = 14.0


def clear_sky_day_w(site: PvSite, day: date) -> list[float]:
    """AC power [W] for each minute of the local ``day`` under a clear sky (runs in the worker)."""
    import warnings

    with warnings.catch_warnings():  # the one pandas-3 deprecation pvlib 0.16 triggers
        warnings.filterwarnings("ignore", message=r"DatetimeIndex\.dayofyear is deprecated")
        return _clear_sky_day_w(site, day)


def _clear_sky_day_w(site: PvSite, day: date) -> list[float]:
    import pandas as pd
    import pvlib

    start = pd.Timestamp(day.isoformat(), tz=site.timezone)
    end = pd.Timestamp((day + timedelta(days=1)).isoformat(), tz=site.timezone)  # 23, 24 or 25 h
    times = pd.date_range(start, end, freq="1min", inclusive="left")
    location = pvlib.location.Location(site.latitude, site.longitude, tz=site.timezone)
    solpos = location.get_solarposition(times)
    clear = location.get_clearsky(times, model="ineichen", solar_position=solpos)
    poa = pvlib.irradiance.get_total_irradiance(
        site.tilt_deg,
        site.azimuth_deg,
        solpos["apparent_zenith"],
        solpos["azimuth"],
        clear["dni"],
        clear["ghi"],
        clear["dhi"],
    )
    temp_cell = pvlib.temperature.faiman(poa["poa_global"], temp_air=10.0, wind_speed=2.0)
    pdc = pvlib.pvsystem.pvwatts_dc(poa["poa_global"], temp_cell, pdc0=site.kwp * 1000.0, gamma_pdc=-0.004)
    pdc = pdc * (1.0 - site.losses_percent / 100.0)
    pac = pvlib.inverter.pvwatts(pdc, pdc0=site.kwp * 1000.0 / 0.96)
    return [max(0.0, float(v)) for v in pac.fillna(0.0).to_numpy()]


class SolarCache:
    """Per-day clear-sky profiles from one long-lived worker process."""

    def __init__(self, site: PvSite) -> None:
        self.site = site
        self._days: dict[date, asyncio.Future[list[float]]] = {}
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent
            )
        return self._pool

    def request(self, day: date) -> asyncio.Future[list[float]]:
        fut = self._days.get(day)
        if fut is None:
            loop = asyncio.get_running_loop()
            try:
                fut = asyncio.ensure_future(
                    loop.run_in_executor(self._executor(), clear_sky_day_w, self.site, day)
                )
            except Exception as exc:  # the worker could not be started: this day has no profile
                fut = loop.create_future()
                fut.set_exception(exc)
            # a prefetched day that failed is reported when awaited, not as "never retrieved"
            fut.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._days[day] = fut
            for old in sorted(self._days)[:-4]:  # keep a few days only
                del self._days[old]
        return fut

    async def get(self, day: date) -> list[float]:
        return await self.request(day)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
