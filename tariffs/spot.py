"""Day-ahead spot prices: parse ENTSO-E A44 documents and simple CSV files, fetch over HTTP.

- `parse_entsoe_xml(bytes)` (pure): a Publication_MarketDocument (A44) → `PriceSeries` in EUR/kWh.
  Time of a point = Period start + (position − 1) × resolution (UTC); curveType A03 may omit a
  position whose value repeats (forward-filled), A01 lists every one. PT15M and PT60M are read;
  when a document holds both, the series is on the finer grid: where both give a price the finer
  one is kept, and an hourly price holds for each of its quarter-hours elsewhere (a document may
  hold an hourly day next to a quarter-hour one, as around the 15-minute switch of 1 Oct 2025).
  An Acknowledgement document ("no matching data") raises `PriceUnavailable`; anything malformed
  raises `PriceDataError` saying what and where.
- `parse_price_csv(text)` (pure): header ``start,price_per_kwh`` (NOK/kWh) or
  ``start,price_eur_per_mwh``; ``start`` ISO-8601 with offset; rows 15 or 60 minutes apart.
- `read_prices(path)`: a file in either format. `get_entsoe_prices(...)`: the ENTSO-E REST API
  (urllib, token, timeout).
- `to_currency(series, rate, currency)`: EUR → NOK etc. (NOK/kWh = EUR/MWh × EURNOK / 1000).
"""

from __future__ import annotations

import csv
import io
import itertools
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from tariffs.series import PriceSeries

if TYPE_CHECKING:
    from tariffs.config import TariffConfig

ENTSOE_URL = "https://web-api.tp.entsoe.eu/api"
#: Bidding zones → ENTSO-E EIC codes (entsoe-py mappings).
ZONES = {
    "NO1": "10YNO-1--------2", "NO2": "10YNO-2--------T", "NO3": "10YNO-3--------J",
    "NO4": "10YNO-4--------9", "NO5": "10Y1001A1001A48H", "SE1": "10Y1001A1001A44P",
    "SE2": "10Y1001A1001A45N", "SE3": "10Y1001A1001A46L", "SE4": "10Y1001A1001A47J",
    "DK1": "10YDK-1--------W", "DK2": "10YDK-2--------M", "FI": "10YFI-1--------U",
    "DE_LU": "10Y1001A1001A82H", "NL": "10YNL----------L", "BE": "10YBE----------2",
    "FR": "10YFR-RTE------C", "AT": "10YAT-APG------L", "IT_NORD": "10Y1001A1001A73I",
}  # fmt: skip
RESOLUTIONS = {"PT15M": 15, "PT60M": 60, "PT1H": 60}
EUR_MWH_BOUNDS = (-500.0, 4000.0)  #: SDAC harmonised price limits [EUR/MWh]


class PriceError(Exception):
    """A spot price could not be had."""


class PriceDataError(PriceError, ValueError):
    """A price document or file is malformed (the message says what and where)."""


class PriceUnavailable(PriceError):
    """The source answered "no data", or could not be reached in time."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element, name: str) -> ET.Element | None:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _text(el: ET.Element, path: str, where: str) -> str:
    node: ET.Element | None = el
    for name in path.split("/"):
        node = _child(node, name) if node is not None else None
    if node is None or node.text is None or not node.text.strip():
        raise PriceDataError(f"{where}: missing <{path}>")
    return node.text.strip()


def _utc(text: str, where: str) -> datetime:
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PriceDataError(f"{where}: bad time {text!r}, expected like 2026-02-16T23:00Z") from None
    if t.tzinfo is None:
        raise PriceDataError(f"{where}: time {text!r} has no offset")
    return t.astimezone(UTC)


def _period(period: ET.Element, curve: str, where: str) -> tuple[int, datetime, list[float]]:
    res_text = _text(period, "resolution", where)
    if res_text not in RESOLUTIONS:
        raise PriceDataError(f"{where}: resolution {res_text} not supported (PT15M or PT60M)")
    minutes = RESOLUTIONS[res_text]
    start = _utc(_text(period, "timeInterval/start", where), where)
    end = _utc(_text(period, "timeInterval/end", where), where)
    n = int((end - start).total_seconds() // (minutes * 60))
    if n <= 0 or start + timedelta(minutes=minutes * n) != end:
        raise PriceDataError(f"{where}: interval {start}..{end} is not a whole number of {res_text}")
    values: dict[int, float] = {}
    for point in period:
        if _local(point.tag) != "Point":
            continue
        try:
            pos = int(_text(point, "position", where))
            price = float(_text(point, "price.amount", where))
        except ValueError:
            raise PriceDataError(f"{where}: a Point has a non-numeric position or price") from None
        if not 1 <= pos <= n:
            raise PriceDataError(f"{where}: position {pos} outside 1..{n}")
        if not EUR_MWH_BOUNDS[0] <= price <= EUR_MWH_BOUNDS[1]:
            raise PriceDataError(f"{where}: price {price} EUR/MWh outside the SDAC limits -500..4000")
        values[pos] = price
    if 1 not in values:
        raise PriceDataError(f"{where}: no Point at position 1")
    out: list[float] = []
    for pos in range(1, n + 1):
        if pos in values:
            out.append(values[pos])
        elif curve == "A03":
            out.append(out[-1])  # variable-sized block: a missing position repeats the last value
        else:
            raise PriceDataError(f"{where}: position {pos} missing (curveType {curve})")
    return minutes, start, out


def parse_entsoe_xml(data: bytes | str) -> PriceSeries:
    """An ENTSO-E day-ahead price document (A44) → prices in EUR/kWh on the finest resolution."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise PriceDataError(f"ENTSO-E document: not well-formed XML ({exc})") from None
    kind = _local(root.tag)
    if kind == "Acknowledgement_MarketDocument":
        reason = root.find(".//{*}Reason/{*}text")
        text = reason.text if reason is not None and reason.text else "no reason given"
        raise PriceUnavailable(f"ENTSO-E answered with no prices: {text.strip()}")
    if kind != "Publication_MarketDocument":
        raise PriceDataError(f"ENTSO-E document: root is <{kind}>, expected Publication_MarketDocument")
    doc_type = _child(root, "type")
    if doc_type is not None and (doc_type.text or "").strip() != "A44":
        raise PriceDataError(f"ENTSO-E document: type {doc_type.text}, expected A44 (day-ahead prices)")
    by_res: dict[int, dict[datetime, float]] = {}
    series = [ts for ts in root if _local(ts.tag) == "TimeSeries"]
    if not series:
        raise PriceDataError("ENTSO-E document: no <TimeSeries>")
    for i, ts in enumerate(series, 1):
        where = f"ENTSO-E TimeSeries {i}"
        unit = _text(ts, "price_Measure_Unit.name", where)
        cur = _text(ts, "currency_Unit.name", where)
        if unit != "MWH" or cur != "EUR":
            raise PriceDataError(f"{where}: prices in {cur}/{unit}, expected EUR/MWH")
        curve_el = _child(ts, "curveType")
        curve = (curve_el.text or "A01").strip() if curve_el is not None else "A01"
        periods = [p for p in ts if _local(p.tag) == "Period"]
        if not periods:
            raise PriceDataError(f"{where}: no <Period>")
        for j, p in enumerate(periods, 1):
            minutes, start, vals = _period(p, curve, f"{where} Period {j}")
            points = by_res.setdefault(minutes, {})
            for k, v in enumerate(vals):
                points[start + timedelta(minutes=minutes * k)] = v
    minutes = min(by_res)
    fine = timedelta(minutes=minutes)
    slots: dict[datetime, float] = {}
    for res in sorted(by_res, reverse=True):  # coarse first: a finer price for the same time wins
        for t, v in by_res[res].items():
            for k in range(res // minutes):  # an hour's price holds for each of its quarter-hours
                slots[t + fine * k] = v
    times = sorted(slots)
    step = timedelta(minutes=minutes)
    for a, b in itertools.pairwise(times):
        if b - a != step:
            raise PriceDataError(
                f"ENTSO-E document: prices missing between {a.isoformat()} and {b.isoformat()}"
            )
    return PriceSeries(times[0], minutes, tuple(slots[t] / 1000.0 for t in times), "EUR")


def parse_price_csv(text: str, source: str = "<csv>") -> PriceSeries:
    """A price CSV (see module docstring) → `PriceSeries` (NOK/kWh, or EUR/kWh from EUR/MWh)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        raise PriceDataError(f"{source}: no price rows (expected a header start,price_per_kwh)")
    cols = set(rows[0])
    if "start" not in cols or not cols & {"price_per_kwh", "price_eur_per_mwh"}:
        raise PriceDataError(f"{source}: header must be start,price_per_kwh or start,price_eur_per_mwh")
    eur = "price_per_kwh" not in cols
    times, values = [], []
    for line, row in enumerate(rows, 2):
        times.append(_utc(row["start"] or "", f"{source}:{line}: start"))
        raw = row["price_eur_per_mwh" if eur else "price_per_kwh"]
        try:
            values.append(float(raw) / 1000.0 if eur else float(raw))
        except (TypeError, ValueError):
            raise PriceDataError(f"{source}:{line}: price {raw!r} is not a number") from None
    minutes = int((times[1] - times[0]).total_seconds() // 60) if len(times) > 1 else 60
    for line, (a, b) in enumerate(itertools.pairwise(times), 3):
        if (b - a).total_seconds() != minutes * 60:
            raise PriceDataError(f"{source}:{line}: rows must be evenly spaced 15 or 60 min apart")
    try:
        return PriceSeries(times[0], minutes, tuple(values), "EUR" if eur else "NOK")
    except ValueError as exc:
        raise PriceDataError(f"{source}: {exc}") from None


def read_prices(path: str | Path) -> PriceSeries:
    """Read a price file: an ENTSO-E XML document or a price CSV (by content)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise PriceDataError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if data.lstrip().startswith(b"<"):
        try:
            return parse_entsoe_xml(data)
        except PriceError as exc:
            raise type(exc)(f"{p}: {exc}") from None
    try:
        return parse_price_csv(data.decode("utf-8-sig"), str(p))
    except UnicodeDecodeError:
        raise PriceDataError(f"{p}: not UTF-8 text, expected a CSV or XML price file") from None


def to_currency(series: PriceSeries, rate: float, currency: str) -> PriceSeries:
    """Convert prices with an exchange rate [currency per unit of series.currency]."""
    if series.currency == currency:
        return series
    return PriceSeries(
        series.start, series.slot_minutes, tuple(v * rate for v in series.price_per_kwh), currency
    )


def entsoe_fetcher(
    token: str,
    zone: str,
    *,
    rate: float | Callable[[], float],
    currency: str,
    timeout_s: float = 10.0,
    base_url: str = ENTSOE_URL,
) -> Callable[[datetime, datetime], PriceSeries]:
    """A ``fetch(start, end)`` for `tariffs.cache.spot_for_day`: ENTSO-E prices of ``zone`` converted
    to ``currency`` with ``rate`` [currency per EUR] (or a function giving it, asked only when
    prices arrived)."""

    def fetch(start: datetime, end: datetime) -> PriceSeries:
        got = get_entsoe_prices(token, zone, start, end, timeout_s=timeout_s, base_url=base_url)
        if got.currency == currency:
            return got
        return to_currency(got, rate() if callable(rate) else rate, currency)

    return fetch


def configured_fetcher(
    tariff: TariffConfig, currency: str, rate: float | Callable[[], float] | None = None
) -> Callable[[datetime, datetime], PriceSeries] | None:
    """The ENTSO-E ``fetch`` of a household's ``[tariff]`` (its token, zone, URL and timeout), or None
    without a token. ``rate`` [currency per EUR] defaults to ``tariff.currency_per_eur``."""
    if not tariff.entsoe_token:
        return None
    return entsoe_fetcher(
        tariff.entsoe_token,
        tariff.bidding_zone,
        rate=tariff.currency_per_eur if rate is None else rate,
        currency=currency,
        timeout_s=tariff.entsoe_timeout_s,
        base_url=tariff.entsoe_url,
    )


def get_entsoe_prices(
    token: str,
    zone: str,
    start: datetime,
    end: datetime,
    *,
    timeout_s: float = 10.0,
    base_url: str = ENTSOE_URL,
) -> PriceSeries:
    """Fetch day-ahead prices of ``zone`` (NO1…, or an EIC code) for [start, end) [EUR/kWh].

    Raises `PriceUnavailable` on network failure, timeout, HTTP error or "no data", and
    `PriceDataError` on a malformed answer.
    """
    eic = ZONES.get(zone, zone)
    fmt = "%Y%m%d%H%M"
    query = urllib.parse.urlencode(
        {
            "securityToken": token,
            "documentType": "A44",
            "in_Domain": eic,
            "out_Domain": eic,
            "periodStart": start.astimezone(UTC).strftime(fmt),
            "periodEnd": end.astimezone(UTC).strftime(fmt),
        }
    )
    try:
        with urllib.request.urlopen(f"{base_url}?{query}", timeout=timeout_s) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:
        body = exc.read() if exc.fp else b""
        if body.lstrip().startswith(b"<"):
            return parse_entsoe_xml(body)  # ENTSO-E explains errors in an Acknowledgement
        raise PriceUnavailable(f"ENTSO-E: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PriceUnavailable(f"ENTSO-E unreachable: {reason}") from None
    if not body.strip():
        raise PriceUnavailable("ENTSO-E: empty answer")
    return parse_entsoe_xml(body)
