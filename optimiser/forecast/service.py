"""One day's forecast from plain data: the function the worker process runs.

Request and answer are plain JSON-friendly data (dicts, lists, floats, ISO-8601 strings), so the
daemon can hand them across a process boundary without pvlib or pandas in its own memory.

Request keys:
- ``date`` "YYYY-MM-DD" (local day), ``site`` {latitude, longitude, timezone, altitude_m}
- ``pv``: a `PvConfig` as a dict, or None (no panels)
- ``weather``: None, or {"source": str, "points": [{time, cloud_area_fraction_pct,
  air_temperature_c, wind_speed_m_s}]} (see `Locationforecast.to_plain`)
- ``pv_history``, ``load_history``, ``temperature_history``: [[iso, value], ...] quarter-hour
  means [W] / [°C], slot start UTC (optional)
- ``past_pv_forecasts``: [[iso, pv_w, pv_raw_w, pv_from_weather], ...] forecasts issued earlier
  for past days, as the answer's slots gave them (optional; the daemon archives each answer)
- ``warnings``: [str] already met by the caller (e.g. an unreadable weather file)
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from optimiser.forecast.bias import HourlyBias, accuracy_by_day, fit_hourly_bias, summarise
from optimiser.forecast.config import PvConfig
from optimiser.forecast.load import forecast_load
from optimiser.forecast.slots import SLOT_H, day_slots, iso_z, local_date, parse_iso

Series = list[tuple[datetime, float]]
MIN_BIAS_DAYS = 3


def _series(raw: Any) -> Series:
    return [(parse_iso(t), float(v)) for t, v in (raw or []) if v is not None]


def _days_slots(first: date, last: date, tz: str) -> list[datetime]:
    out: list[datetime] = []
    d = first
    while d <= last:
        out += day_slots(d, tz)
        d += timedelta(days=1)
    return out


def _rolling_hindcast(clear: Series, actual: Series, tz: str, derate: float) -> Series:
    """Clear-sky hindcast of each past day corrected with a bias fitted on the days *before* it
    (out of sample), or × derate while fewer than 3 days are known: what we would have forecast."""
    by_day: dict[date, Series] = {}
    for t, v in clear:
        by_day.setdefault(local_date(t, tz), []).append((t, v))
    out: Series = []
    before: Series = []
    for day in sorted(by_day):
        bias = fit_hourly_bias(before, actual, tz)
        if bias.days >= MIN_BIAS_DAYS:
            out += [(t, v * bias.factor(t, tz)) for t, v in by_day[day]]
        else:
            out += [(t, v * derate) for t, v in by_day[day]]
        before += by_day[day]
    return out


def run_forecast(request: dict[str, Any]) -> dict[str, Any]:
    """Compute PV and base-load forecasts per quarter-hour slot of the requested local day."""
    day = date.fromisoformat(request["date"])
    site_raw = request["site"]
    tz = site_raw["timezone"]
    slots = day_slots(day, tz)
    warnings: list[str] = list(request.get("warnings") or [])
    sources: dict[str, Any] = {}
    weather = request.get("weather") or None
    pv = PvConfig.model_validate(request["pv"]) if request.get("pv") else None
    pv_history = _series(request.get("pv_history"))
    temps: list[float | None] = [None] * len(slots)
    accuracy: dict[str, Any] | None = None
    pv_w = [0.0] * len(slots)
    pv_raw = [0.0] * len(slots)
    from_wx = [False] * len(slots)

    has_points = bool(weather and weather.get("points"))
    if has_points or (pv and pv.array):
        from optimiser.forecast import pv as pvmodel  # pvlib + pandas: only in here

        site = pvmodel.Site(site_raw["latitude"], site_raw["longitude"], tz, site_raw.get("altitude_m"))
        if has_points and weather:
            covered, _, temp, _ = pvmodel.interpolate_weather(weather["points"], pvmodel.midpoints(slots))
            temps = [float(x) if c else None for c, x in zip(covered, temp, strict=True)]
        if pv and pv.array:
            pv_w, pv_raw, from_wx, accuracy = _pv_day(
                pvmodel, pv, site, slots, weather, pv_history, request, sources, warnings
            )
    if not (pv and pv.array):
        sources["pv"] = "none: no [[pv.array]] configured"
    if "weather" not in sources:
        sources["weather"] = weather["source"] if has_points and weather else "none"

    load = forecast_load(
        _series(request.get("load_history")),
        slots,
        tz,
        temperature_history=_series(request.get("temperature_history")) or None,
        temperature_forecast_c=temps,
    )
    sources["load"] = {"kind": load.source, "days": load.days_used, "note": load.note}
    return {
        "date": day.isoformat(),
        "timezone": tz,
        "slot_minutes": 15,
        "n_slots": len(slots),
        "pv_kwh": round(sum(pv_w) * SLOT_H / 1000.0, 3),
        "load_kwh": round(sum(load.load_w) * SLOT_H / 1000.0, 3),
        "sources": sources,
        "warnings": warnings,
        "slots": [
            {
                "start": iso_z(t),
                "pv_w": round(p, 1),
                "pv_raw_w": round(r, 1),
                "pv_from_weather": wx,
                "load_w": round(lw, 1),
                "temp_air_c": None if tc is None else round(tc, 2),
            }
            for t, p, r, wx, lw, tc in zip(slots, pv_w, pv_raw, from_wx, load.load_w, temps, strict=True)
        ],
        "accuracy": accuracy,
    }


def _pv_day(
    pvmodel: Any,
    pv: PvConfig,
    site: Any,
    slots: list[datetime],
    weather: dict[str, Any] | None,
    pv_history: Series,
    request: dict[str, Any],
    sources: dict[str, Any],
    warnings: list[str],
) -> tuple[list[float], list[float], list[bool], dict[str, Any] | None]:
    points = weather.get("points") if weather else None
    today = pvmodel.forecast_pv(pv, site, slots, points)
    tz = site.timezone
    n, n_wx = len(slots), sum(today.covered)
    name = weather["source"] if weather else "none"
    if n_wx == 0:
        sources["weather"] = "clear-sky fallback" + (f" ({name} does not cover this day)" if points else "")
    elif n_wx < n:
        sources["weather"] = f"{name} ({n_wx}/{n} slots)"
        warnings.append(f"weather covers {n_wx} of {n} slots; the rest is clear-sky")
    else:
        sources["weather"] = name

    # Learning from the meter. Clear-sky slots: factors of measured PV / clear-sky hindcast.
    # Weather slots: factors of measured PV / the raw weather forecasts issued for those days
    # (archived by the daemon; without an archive, no correction of weather slots).
    clear_bias = wx_bias = HourlyBias()
    accuracy = None
    day = local_date(slots[n // 2], tz)
    past = [(t, v) for t, v in pv_history if 0 < (day - local_date(t, tz)).days <= pv.bias_days]
    archived = [  # (start, issued W, raw W, raw came from the weather forecast)
        (parse_iso(row[0]), float(row[1]), float(row[2]), bool(row[3]) if len(row) > 3 else True)
        for row in request.get("past_pv_forecasts") or []
        if row[1] is not None and row[2] is not None
    ]
    if past:
        first = min(local_date(t, tz) for t, _ in past)
        past_slots = _days_slots(first, day - timedelta(days=1), tz)
        hind = pvmodel.forecast_pv(pv.model_copy(update={"clear_sky_derate": 1.0}), site, past_slots, None)
        clear = list(zip(past_slots, hind.clear_sky_ac_w, strict=True))
        clear_bias = fit_hourly_bias(clear, past, tz)
        if archived:
            wx_bias = fit_hourly_bias([(t, raw) for t, _, raw, wx in archived if wx], past, tz)
            issued, kind = [(t, w) for t, w, _, _ in archived], "archived forecasts"
        else:
            issued, kind = _rolling_hindcast(clear, past, tz, pv.clear_sky_derate), "clear-sky hindcast"
        days = accuracy_by_day(issued, past, tz)
        accuracy = {"forecast": kind, "summary": summarise(days), "days": [asdict(d) for d in days]}

    use_clear, use_wx = clear_bias.days >= MIN_BIAS_DAYS, wx_bias.days >= MIN_BIAS_DAYS
    raw: list[float] = []
    values: list[float] = []
    for t, a, c, wx in zip(slots, today.ac_w, today.clear_sky_ac_w, today.covered, strict=True):
        if wx:
            raw.append(a)
            values.append(a * wx_bias.factor(t, tz) if use_wx else a)
        else:
            raw.append(c * pv.clear_sky_derate)
            values.append(c * clear_bias.factor(t, tz) if use_clear else c * pv.clear_sky_derate)
    sources["bias"] = {
        "clear_sky_slots": _describe(clear_bias, "measured PV / clear-sky hindcast", n - n_wx),
        "weather_slots": _describe(wx_bias, "measured PV / archived raw weather forecasts", n_wx),
    }
    if n_wx < n and not use_clear:
        sources["clear_sky_derate"] = pv.clear_sky_derate
    return values, raw, today.covered, accuracy


def _describe(bias: HourlyBias, what: str, slots: int) -> dict[str, Any] | str:
    if bias.days < MIN_BIAS_DAYS:
        return f"none: {bias.days} day(s) of {what}, {MIN_BIAS_DAYS} needed"
    return {
        "kind": f"hourly factors, {what} (weighted median)",
        "applied_to_slots": slots,
        "days": bias.days,
        "factors": {str(h): round(f, 3) for h, f in bias.factors.items()},
        "overall": round(bias.overall, 3),
    }
