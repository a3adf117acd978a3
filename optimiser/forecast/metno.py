"""MET Norway Locationforecast 2.0 *compact*: parse (pure), read (file), get (HTTP with cache).

The terms of service (https://api.met.no/doc/TermsOfService) ask every client to:
identify itself with a ``User-Agent`` naming the application and a contact (else 403); not
re-request before the ``Expires`` of the last response; cache the answer and send
``If-Modified-Since`` with the previous ``Last-Modified`` (the server then answers 304); truncate
coordinates to at most 4 decimals; accept gzip; use HTTPS. Data are CC BY 4.0, "MET Norway".
`get_locationforecast` does all of that; it needs no third-party library (urllib).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

from optimiser.forecast.slots import iso_z, parse_iso

ATTRIBUTION = "Weather forecast from MET Norway (api.met.no), CC BY 4.0"


class WeatherError(Exception):
    """A weather forecast could not be read, fetched or understood (the message says why)."""


@dataclass(frozen=True)
class WeatherPoint:
    """The forecast state at one instant (``data.instant.details``)."""

    time: datetime  #: aware UTC
    cloud_area_fraction_pct: float  #: total cloud cover [%]
    air_temperature_c: float | None  #: air temperature at 2 m [°C]
    wind_speed_m_s: float | None  #: wind speed at 10 m [m/s]


@dataclass(frozen=True)
class Locationforecast:
    updated_at: datetime | None  #: when MET last updated the forecast (UTC)
    points: list[WeatherPoint]  #: sorted by time
    latitude: float | None = None  #: of the forecast point (``geometry.coordinates[1]``) [°N]
    longitude: float | None = None  #: [°E]

    def distance_deg(self, latitude: float, longitude: float) -> float | None:
        """Largest coordinate difference to a site [°]; None if the document had no geometry."""
        if self.latitude is None or self.longitude is None:
            return None
        return max(abs(self.latitude - latitude), abs(self.longitude - longitude))

    def to_plain(self) -> list[dict[str, Any]]:
        """The points as JSON-friendly dicts (ISO times) for the worker process."""
        return [
            {
                "time": iso_z(p.time),
                "cloud_area_fraction_pct": p.cloud_area_fraction_pct,
                "air_temperature_c": p.air_temperature_c,
                "wind_speed_m_s": p.wind_speed_m_s,
            }
            for p in self.points
        ]


def _number(details: dict[str, Any], key: str, where: str) -> float | None:
    value = details.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WeatherError(f"{where}: {key} should be a number, got {value!r}")
    return float(value)


def parse_locationforecast(doc: Any) -> Locationforecast:
    """Turn a decoded compact JSON document into weather points; `WeatherError` if malformed.

    Entries without ``cloud_area_fraction`` are skipped; at least one must remain.
    """
    try:
        props = doc["properties"]
        series = props["timeseries"]
    except (TypeError, KeyError):
        raise WeatherError("not a locationforecast document: no properties.timeseries") from None
    if not isinstance(series, list):
        raise WeatherError("properties.timeseries should be a list")
    meta = props.get("meta") if isinstance(props.get("meta"), dict) else {}
    units = meta.get("units", {}) if isinstance(meta.get("units"), dict) else {}
    if units.get("cloud_area_fraction", "%") != "%":
        raise WeatherError(f"cloud_area_fraction in {units['cloud_area_fraction']!r}, expected '%'")
    updated: datetime | None = None
    if isinstance(meta.get("updated_at"), str):
        try:
            updated = parse_iso(meta["updated_at"])
        except ValueError:
            raise WeatherError(f"meta.updated_at is not a time: {meta['updated_at']!r}") from None
    points: list[WeatherPoint] = []
    for i, entry in enumerate(series):
        where = f"timeseries[{i}]"
        try:
            t = parse_iso(entry["time"])
            details = entry["data"]["instant"]["details"]
        except (TypeError, KeyError, AttributeError):
            raise WeatherError(f"{where}: expected time and data.instant.details") from None
        except ValueError:
            raise WeatherError(f"{where}: time is not an ISO-8601 UTC time: {entry['time']!r}") from None
        if not isinstance(details, dict):
            raise WeatherError(f"{where}: data.instant.details should be an object")
        cloud = _number(details, "cloud_area_fraction", where)
        if cloud is None:
            continue
        if not 0.0 <= cloud <= 100.0:
            raise WeatherError(f"{where}: cloud_area_fraction {cloud} outside 0..100 %")
        points.append(
            WeatherPoint(
                t,
                cloud,
                _number(details, "air_temperature", where),
                _number(details, "wind_speed", where),
            )
        )
    if not points:
        raise WeatherError("no timeseries entry with cloud_area_fraction")
    points.sort(key=lambda p: p.time)
    lat = lon = None
    coords = doc.get("geometry", {}).get("coordinates") if isinstance(doc.get("geometry"), dict) else None
    if isinstance(coords, list) and len(coords) >= 2 and all(isinstance(c, int | float) for c in coords[:2]):
        lon, lat = float(coords[0]), float(coords[1])  # GeoJSON order: lon, lat[, altitude]
    return Locationforecast(updated, points, lat, lon)


def read_locationforecast(path: str | Path) -> Locationforecast:
    """Read a saved compact JSON file (plain or gzip); `WeatherError` naming the file if unusable."""
    p = Path(path)
    try:
        raw = p.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        doc = json.loads(raw)
    except OSError as exc:
        raise WeatherError(f"{p}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, EOFError) as exc:
        raise WeatherError(f"{p}: not valid JSON: {exc}") from None
    try:
        return parse_locationforecast(doc)
    except WeatherError as exc:
        raise WeatherError(f"{p}: {exc}") from None


def truncate_coordinate(value: float) -> str:
    """Coordinate with at most 4 decimals, truncated as MET asks (5+ decimals get a 403)."""
    return format(Decimal(repr(value)).quantize(Decimal("0.0001"), rounding=ROUND_DOWN).normalize(), "f")


def user_agent(app_version: str, contact: str) -> str:
    """``hems/<version> <contact>``: the identification MET's terms require."""
    return f"hems/{app_version} {contact}"


@dataclass(frozen=True)
class FetchResult:
    forecast: Locationforecast
    how: str  #: "fetched", "not-modified", "cache-fresh" or "cache-stale"
    warning: str | None = None


def _http_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        t = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def get_locationforecast(
    lat: float,
    lon: float,
    *,
    user_agent: str,
    now: datetime,
    cache_dir: str | Path,
    url: str = "https://api.met.no/weatherapi/locationforecast/2.0/compact",
    altitude_m: float | None = None,
    timeout_s: float = 10.0,
) -> FetchResult:
    """Fetch the forecast for a point, honouring Expires / If-Modified-Since through a file cache.

    ``now`` [aware UTC] comes from the caller's clock. A network or HTTP error falls back to a
    cached copy when there is one (``how="cache-stale"`` with a warning), else raises `WeatherError`.
    """
    query = {"lat": truncate_coordinate(lat), "lon": truncate_coordinate(lon)}
    if altitude_m is not None:
        query["altitude"] = str(round(altitude_m))
    full_url = f"{url}?{urllib.parse.urlencode(query)}"
    cache = Path(cache_dir)
    stem = f"metno-compact_{query['lat']}_{query['lon']}"
    body_path, meta_path = cache / f"{stem}.json", cache / f"{stem}.meta.json"
    meta: dict[str, Any] = {}
    cached: Locationforecast | None = None
    if body_path.exists() and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            cached = parse_locationforecast(json.loads(body_path.read_bytes()))
        except (OSError, ValueError, WeatherError):
            meta, cached = {}, None  # a damaged cache is ignored and rewritten
    expires = _http_time(meta.get("expires"))
    if cached is not None and expires is not None and now < expires:
        return FetchResult(cached, "cache-fresh")

    headers = {"User-Agent": user_agent, "Accept-Encoding": "gzip", "Accept": "application/json"}
    if cached is not None and meta.get("last_modified"):
        headers["If-Modified-Since"] = meta["last_modified"]
    request = urllib.request.Request(full_url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            status, resp_headers, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 304 and cached is not None:
            meta["expires"] = exc.headers.get("Expires") or meta.get("expires")
            with contextlib.suppress(OSError):  # only the freshness date could not be kept
                _write_atomic(meta_path, json.dumps(meta).encode())
            return FetchResult(cached, "not-modified")
        return _stale_or_raise(cached, f"{full_url}: HTTP {exc.code} {exc.reason}")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return _stale_or_raise(cached, f"{full_url}: {reason}")
    if resp_headers.get("Content-Encoding", "").lower() == "gzip":
        raw = gzip.decompress(raw)
    try:
        forecast = parse_locationforecast(json.loads(raw))
    except (ValueError, WeatherError) as exc:
        return _stale_or_raise(cached, f"{full_url}: unusable answer: {exc}")
    new_meta = {
        "url": full_url,
        "last_modified": resp_headers.get("Last-Modified"),
        "expires": resp_headers.get("Expires") or format_datetime(now, usegmt=True),
        "fetched_at": iso_z(now),
    }
    warning = "MET says this product is deprecated (HTTP 203)" if status == 203 else None
    try:
        cache.mkdir(parents=True, exist_ok=True)
        _write_atomic(body_path, raw)
        _write_atomic(meta_path, json.dumps(new_meta).encode())
    except OSError as exc:  # still use the answer; the next call will have to ask again
        warning = f"cannot cache the forecast in {cache}: {exc.strerror or exc}"
    return FetchResult(forecast, "fetched", warning)


def _stale_or_raise(cached: Locationforecast | None, problem: str) -> FetchResult:
    if cached is None:
        raise WeatherError(problem)
    return FetchResult(cached, "cache-stale", f"{problem}; using the cached forecast")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
