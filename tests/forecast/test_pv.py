"""PV model against pvlib's reference functions called directly, and the recorded MET file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pvlib import atmosphere, clearsky, iam, inverter, irradiance, pvsystem, solarposition, temperature

from optimiser.forecast.config import PvConfig
from optimiser.forecast.metno import read_locationforecast
from optimiser.forecast.pv import Site, cloud_to_irradiance, forecast_pv, midpoints, quiet_pandas_deprecations
from optimiser.forecast.slots import day_slots

DATA = Path(__file__).parents[1] / "data" / "forecast"
FIXTURE = DATA / "locationforecast-oslo-2026-06-21.json"
SITE = Site(59.91, 10.75, "Europe/Oslo", 20.0)
#: A known system: 6 kWp south-west 35°, 10 % DC losses, roof mount, 5 kW inverter at 96 %.
PV = PvConfig.model_validate(
    {
        "array": [{"kwp": 6.0, "tilt_deg": 35, "azimuth_deg": 200, "losses_percent": 10.0}],
        "inverter_kw": 5.0,
        "clear_sky_derate": 1.0,
    }
)


def reference_ac(times: pd.DatetimeIndex, ghi=None, dni=None, dhi=None, temp_air=None, wind=None):
    """PVWatts chain assembled by hand from pvlib functions (Perez, physical IAM, SAPM cell temp)."""
    lat, lon, alt = SITE.latitude, SITE.longitude, SITE.altitude_m
    pressure = atmosphere.alt2pres(alt)
    with quiet_pandas_deprecations():
        sp_kw = {} if temp_air is None else {"temperature": temp_air}
        sp = solarposition.get_solarposition(times, lat, lon, altitude=alt, pressure=pressure, **sp_kw)
        am_rel = atmosphere.get_relative_airmass(sp["apparent_zenith"], model="kastenyoung1989")
        dni_extra = irradiance.get_extra_radiation(times)
        if ghi is None:
            sp12 = solarposition.get_solarposition(times, lat, lon, altitude=alt, pressure=pressure)
            am12 = atmosphere.get_absolute_airmass(
                atmosphere.get_relative_airmass(sp12["apparent_zenith"]), pressure
            )
            lt = clearsky.lookup_linke_turbidity(times, lat, lon)
            cs = clearsky.ineichen(sp12["apparent_zenith"], am12, lt, altitude=alt, dni_extra=dni_extra)
            ghi, dni, dhi = cs["ghi"], cs["dni"], cs["dhi"]
        poa = irradiance.get_total_irradiance(
            35, 200, sp["apparent_zenith"], sp["azimuth"], dni, ghi, dhi,
            dni_extra=dni_extra, airmass=am_rel, model="perez",
        )  # fmt: skip
    aoi = irradiance.aoi(35, 200, sp["apparent_zenith"], sp["azimuth"])
    eff = poa["poa_direct"] * iam.physical(aoi) + poa["poa_diffuse"]
    params = temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["close_mount_glass_glass"]
    t_air = 20.0 if temp_air is None else temp_air
    w = 0.0 if wind is None else wind
    cell = temperature.sapm_cell(poa["poa_global"], t_air, w, **params)
    dc = pvsystem.pvwatts_dc(eff, cell, 6000.0 * 0.9, -0.004)
    ac = inverter.pvwatts(dc, 5000.0 / 0.96, 0.96)
    return np.clip(np.nan_to_num(np.asarray(ac, dtype=float)), 0, None), np.asarray(ghi, dtype=float)


@pytest.mark.parametrize("day", [date(2026, 6, 21), date(2026, 3, 29), date(2026, 12, 21)])
def test_clear_sky_matches_pvlib_reference_functions(day: date) -> None:
    slots = day_slots(day, SITE.timezone)
    got = forecast_pv(PV, SITE, slots, None)
    want, _ = reference_ac(midpoints(slots))
    assert len(got.ac_w) == len(slots)
    np.testing.assert_allclose(got.clear_sky_ac_w, want, rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(got.ac_w, want, rtol=1e-7, atol=1e-6)  # derate 1.0
    assert not any(got.covered)
    if day.month == 6:  # midsummer in Oslo: 5.4 kW DC after losses, hot roof-mounted cells
        assert 3500.0 < max(got.ac_w) < 5000.0
        assert 25.0 < sum(got.ac_w) / 4000 < 40.0  # [kWh]


def test_clear_sky_derate_scales_the_fallback() -> None:
    slots = day_slots(date(2026, 6, 21), SITE.timezone)
    got = forecast_pv(PV.model_copy(update={"clear_sky_derate": 0.7}), SITE, slots, None)
    np.testing.assert_allclose(got.ac_w, np.array(got.clear_sky_ac_w) * 0.7)


def _file_weather(times: pd.DatetimeIndex) -> pd.DataFrame:
    """The fixture read independently with json + pandas, interpolated in time to ``times``."""
    doc = json.loads(FIXTURE.read_text())
    rows = {pd.Timestamp(e["time"]): e["data"]["instant"]["details"] for e in doc["properties"]["timeseries"]}
    frame = pd.DataFrame.from_dict(rows, orient="index").sort_index()
    full = frame.reindex(frame.index.union(times)).interpolate(method="time")
    return full.loc[times]


def test_recorded_locationforecast_gives_the_expected_series() -> None:
    slots = day_slots(date(2026, 6, 21), SITE.timezone)
    times = midpoints(slots)
    fc = read_locationforecast(FIXTURE)
    got = forecast_pv(PV, SITE, slots, fc.to_plain())
    assert all(got.covered)

    wx = _file_weather(times)
    cc = wx["cloud_area_fraction"].to_numpy() / 100.0
    with quiet_pandas_deprecations():
        sp = solarposition.get_solarposition(
            times, SITE.latitude, SITE.longitude, altitude=20.0, pressure=atmosphere.alt2pres(20.0)
        )
        cs = SITE.location().get_clearsky(times)
        ghi = (0.35 + 0.65 * (1 - cc)) * cs["ghi"]  # Larson et al. 2016
        dni = irradiance.disc(ghi, sp["zenith"], times)["dni"]
    dhi = ghi - dni * np.cos(np.radians(sp["zenith"]))
    want, _ = reference_ac(
        times, ghi.fillna(0), dni.fillna(0), dhi.fillna(0).clip(lower=0),
        wx["air_temperature"].to_numpy(), wx["wind_speed"].to_numpy(),
    )  # fmt: skip
    np.testing.assert_allclose(got.ac_w, want, rtol=1e-6, atol=1e-3)
    # the file: clear until 09Z, overcast from 10Z → the afternoon keeps 35 % of clear-sky GHI
    clear = forecast_pv(PV, SITE, slots, None)
    t = [s.hour for s in slots]
    noonish = [i for i, h in enumerate(t) if 11 <= h < 14 and slots[i].day == 21]
    assert all(got.ghi_w_m2[i] == pytest.approx(0.35 * cs["ghi"].iloc[i]) for i in noonish)
    morning = [i for i, h in enumerate(t) if 5 <= h < 9 and slots[i].day == 21]
    assert all(got.ghi_w_m2[i] == pytest.approx(cs["ghi"].iloc[i]) for i in morning)
    assert sum(got.ac_w) < 0.8 * sum(clear.ac_w)


def test_weather_ending_mid_day_fills_the_rest_with_clear_sky() -> None:
    slots = day_slots(date(2026, 6, 24), SITE.timezone)  # the file's 6-hourly tail ends 06:00Z
    fc = read_locationforecast(FIXTURE)
    got = forecast_pv(PV.model_copy(update={"clear_sky_derate": 0.8}), SITE, slots, fc.to_plain())
    n_cov = sum(got.covered)
    assert 0 < n_cov < len(slots)
    end = datetime(2026, 6, 24, 6, tzinfo=UTC)  # last entry of the file
    assert got.covered == [t + timedelta(minutes=7.5) <= end for t in slots]
    for a, c, cov in zip(got.ac_w, got.clear_sky_ac_w, got.covered, strict=True):
        if not cov:
            assert a == pytest.approx(0.8 * c)


def test_campbell_norman_overcast_has_no_beam() -> None:
    times = midpoints(day_slots(date(2026, 6, 21), SITE.timezone))
    irr = cloud_to_irradiance(SITE, times, np.full(len(times), 100.0), "campbell_norman")
    assert irr["dni"].max() == pytest.approx(0.0)
    with quiet_pandas_deprecations():  # τ = 0: ghi = dhi = 0.3·E0·cos(z) (the model's diffuse term)
        z = SITE.location().get_solarposition(times)["apparent_zenith"]
        e0 = irradiance.get_extra_radiation(times)
    want = (0.3 * e0 * np.cos(np.radians(z))).clip(lower=0)
    np.testing.assert_allclose(irr["ghi"], want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(irr["dhi"], want, rtol=1e-6, atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(0.0, 100.0), min_size=6, max_size=30))  # ≤ 6 h apart
def test_any_cloud_cover_stays_between_overcast_and_clear(cloud: list[float]) -> None:
    slots = day_slots(date(2026, 5, 10), SITE.timezone)
    start = slots[0] - timedelta(hours=1)
    step = (slots[-1] - slots[0] + timedelta(hours=2)) / (len(cloud) - 1)
    points = [
        {"time": (start + i * step).isoformat(), "cloud_area_fraction_pct": c, "air_temperature_c": 10.0}
        for i, c in enumerate(cloud)
    ]
    got = forecast_pv(PV, SITE, slots, points)
    clear = forecast_pv(PV, SITE, slots, None)
    assert all(got.covered)
    for g, ghi, cghi in zip(got.ac_w, got.ghi_w_m2, clear.ghi_w_m2, strict=True):
        assert 0.0 <= g <= 5000.0 + 1e-6
        assert 0.35 * cghi - 1e-6 <= ghi <= cghi + 1e-6  # Larson: between overcast and clear


def test_gaps_longer_than_six_hours_are_not_interpolated() -> None:
    fc = read_locationforecast(FIXTURE).to_plain()  # hourly to 21 June 23Z, then 23 June 18Z (trimmed)
    slots = day_slots(date(2026, 6, 22), SITE.timezone)
    got = forecast_pv(PV, SITE, slots, fc)
    last_hourly = datetime(2026, 6, 21, 23, tzinfo=UTC)
    assert got.covered == [t + timedelta(minutes=7.5) <= last_hourly for t in slots]
    assert sum(got.covered) == 4  # 22:00–23:00Z on the 21st is 00:00–01:00 local on the 22nd
