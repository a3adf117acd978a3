"""The daemon's side of the forecast: gathering its inputs (site, PV arrays, weather from a file or
MET Norway's API with its cache, measured history from storage) as plain data, and the hourly job
that runs the forecast in a worker process and archives the answer.

pvlib and pandas are never imported here: the computation is `optimiser.forecast.worker`'s.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hems.errors import UsageError

log = logging.getLogger(__name__)

LOAD_WEEKS = 6
MAX_AWAY_DEG = 0.1  #: a weather file further than this from the site gets a warning [°]


def _cache_dir(configured: str | None) -> Path:
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hems"


def weather_input(
    cfg: Any, now: datetime, weather_file: str | None = None
) -> tuple[dict[str, Any] | None, list[str]]:
    """The weather part of the request and the warnings met on the way (never raises).

    ``weather_file`` (a saved compact JSON) wins; else MET's API when ``[pv.weather]`` allows it.
    ``now`` [aware UTC] decides whether the cached answer is still fresh.
    """
    from hems import __version__
    from optimiser.forecast.metno import (
        ATTRIBUTION,
        WeatherError,
        get_locationforecast,
        read_locationforecast,
        user_agent,
    )

    warnings: list[str] = []
    if weather_file:
        try:
            fc = read_locationforecast(weather_file)
        except WeatherError as exc:
            warnings.append(f"weather file unusable ({exc}); using clear-sky")
            return None, warnings
        away = fc.distance_deg(cfg.site.latitude, cfg.site.longitude)
        if away is not None and away > MAX_AWAY_DEG:
            warnings.append(
                f"weather file {weather_file} is for {fc.latitude:.4f} N {fc.longitude:.4f} E, "
                f"the site is at {cfg.site.latitude:.4f} N {cfg.site.longitude:.4f} E"
            )
        return {"source": f"file {weather_file}", "points": fc.to_plain()}, warnings
    pv = cfg.pv
    if pv is None or not pv.array:
        return None, warnings
    wcfg = pv.weather
    if wcfg.source == "none":
        warnings.append("no weather source ([pv.weather] source = none); using clear-sky")
        return None, warnings
    if not wcfg.contact:
        warnings.append(
            "no weather source: MET Norway needs a contact ([pv.weather] contact = e-mail or URL); "
            "using clear-sky"
        )
        return None, warnings
    try:
        got = get_locationforecast(
            cfg.site.latitude,
            cfg.site.longitude,
            user_agent=user_agent(__version__, wcfg.contact),
            now=now,
            cache_dir=_cache_dir(wcfg.cache_dir),
            url=wcfg.url,
            altitude_m=pv.altitude_m,
            timeout_s=wcfg.timeout_s,
        )
    except (WeatherError, OSError) as exc:
        warnings.append(f"MET Norway forecast unavailable ({exc}); using clear-sky")
        return None, warnings
    if got.warning:
        warnings.append(got.warning)
    return {
        "source": f"MET Norway API ({got.how}); {ATTRIBUTION}",
        "points": got.forecast.to_plain(),
    }, warnings


def _plain(points: list[Any]) -> dict[datetime, float]:
    return {p.time: float(p.mean) for p in points}


def history_from_storage(st: Any, day: date, cfg: Any) -> dict[str, Any]:
    """Measured PV, house load (import − export + PV), temperatures and archived forecasts before
    local ``day``, from an open `hems.storage.Storage`, as request fields.

    Archived forecasts are the answers the daemon stored with ``put_doc("forecast.pv.<date>", …)``.
    """
    tz = ZoneInfo(cfg.site.timezone)
    end = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    bias_days = cfg.pv.bias_days if cfg.pv else 0
    start = datetime.combine(day - timedelta(days=max(LOAD_WEEKS * 7, bias_days)), time(0), tzinfo=tz)
    start = start.astimezone(UTC)
    channels = set(st.channels())

    def read(channel: str) -> dict[datetime, float]:
        return _plain(st.series(channel, start, end, "15m")) if channel in channels else {}

    pv, imp, exp, temp = (
        read(c) for c in ("pv.p_w", "grid.p_import_w", "grid.p_export_w", "weather.temp_air_c")
    )
    archived: list[list[Any]] = []
    archived_temp: list[list[Any]] = []
    for back in range(1, max(bias_days, LOAD_WEEKS * 7) + 1):
        doc = st.get_doc(f"forecast.pv.{(day - timedelta(days=back)).isoformat()}")
        if not (isinstance(doc, dict) and isinstance(doc.get("slots"), list)):
            continue
        rows = [s for s in doc["slots"] if isinstance(s, dict) and isinstance(s.get("start"), str)]
        if back <= bias_days:
            archived += [
                [s["start"], s.get("pv_w"), s.get("pv_raw_w"), s.get("pv_from_weather", True)] for s in rows
            ]
        archived_temp += [[s["start"], s["temp_air_c"]] for s in rows if s.get("temp_air_c") is not None]
    iso = {t: t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in set(pv) | set(imp) | set(temp)}
    # temperatures: a measured channel if the daemon records one, else the archived forecasts'
    temperatures = [[iso[t], v] for t, v in sorted(temp.items())] or sorted(archived_temp)
    return {
        "pv_history": [[iso[t], v] for t, v in sorted(pv.items())],
        "load_history": [[iso[t], imp[t] - exp.get(t, 0.0) + pv.get(t, 0.0)] for t in sorted(imp)],
        "temperature_history": temperatures or None,
        "past_pv_forecasts": archived or None,
    }


def history_input(db: str, day: date, cfg: Any) -> dict[str, Any]:
    """`history_from_storage` on the database file ``db`` opened read-only; `UsageError` if unusable."""
    import sqlite3

    try:
        from hems.storage import Storage
    except ImportError:
        raise UsageError("--db: this build has no hems.storage; run without --db") from None
    if not Path(db).is_file():
        raise UsageError(f"{db}: no such database file")
    try:
        with Storage.open(Path(db), readonly=True) as st:
            return history_from_storage(st, day, cfg)
    except (sqlite3.Error, ValueError, KeyError) as exc:
        raise UsageError(f"{db}: cannot read the database: {exc}") from None


def make_request(
    cfg: Any, day: date, now: datetime, *, weather_file: str | None = None, storage: Any = None
) -> dict[str, Any]:
    """Everything the worker needs for local ``day``, as plain data (the daemon's entry point).

    ``cfg``: a `hems.config.HemsConfig`; ``now`` [aware UTC] from the caller's clock; ``storage``:
    an open `hems.storage.Storage` for the measured history (None: no learning, fallback load).
    """
    weather, warnings = weather_input(cfg, now, weather_file)
    request: dict[str, Any] = {
        "date": day.isoformat(),
        "site": {
            "latitude": cfg.site.latitude,
            "longitude": cfg.site.longitude,
            "timezone": cfg.site.timezone,
            "altitude_m": cfg.pv.altitude_m if cfg.pv else None,
        },
        "pv": cfg.pv.model_dump() if cfg.pv else None,
        "weather": weather,
        "warnings": warnings,
    }
    if storage is not None:
        request.update(history_from_storage(storage, day, cfg))
    return request


def forecast_job(cfg: Any, storage: Any, clock: Any, timeout_s: float = 180.0) -> Any:
    """A `hems.jobs` job function: forecast today and tomorrow (local), archive each answer as
    ``forecast.pv.<date>`` (what lets the weather correction learn, and reports compare forecast with
    actual) and the newest as ``pv_forecast`` (the dashboard's). Network and disk I/O run in a thread,
    pvlib in a worker process: the daemon's loop never waits on them."""
    from optimiser.forecast.worker import forecast_in_subprocess

    tz = ZoneInfo(cfg.site.timezone)

    async def run(fire: datetime) -> bool:
        today = fire.astimezone(tz).date()
        for day in (today, today + timedelta(days=1)):
            request = await asyncio.to_thread(make_request, cfg, day, clock.now(), storage=storage)
            answer = await asyncio.to_thread(forecast_in_subprocess, request, timeout_s)
            storage.put_doc(f"forecast.pv.{answer['date']}", answer, clock.now())
        storage.put_doc("pv_forecast", answer, clock.now())
        log.info(
            "forecast for %s: PV %.1f kWh, load %.1f kWh",
            answer["date"],
            answer["pv_kwh"],
            answer["load_kwh"],
        )
        return True

    return run
