"""Exchange rates for converting ENTSO-E prices (EUR/MWh) into the household's currency.

Norges Bank publishes daily reference rates (business days only) as SDMX-JSON:
``https://data.norges-bank.no/api/data/EXR/B.EUR.NOK.SP?format=sdmx-json&startPeriod=...``.
`parse_norges_bank_json` (pure) reads such a document into dated rates [NOK per unit of the base
currency] (values are per 10^UNIT_MULT units: SEK is quoted per 100); `rate_on` takes the latest rate
on or before a day (weekends and holidays use the last business day); `get_norges_bank_rate` fetches.
`ConfiguredRate` is the rate a household's ``[tariff]`` asks for (``exchange_rate``), looked up once
and only when a price needs converting, with where it came from.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tariffs.config import TariffConfig

NORGES_BANK_URL = "https://data.norges-bank.no/api/data/EXR"


class ExchangeRateError(Exception):
    """No usable exchange rate (unreachable source, no observation, malformed answer)."""


def parse_norges_bank_json(text: str | bytes) -> dict[date, float]:
    """An SDMX-JSON EXR answer → {day: rate [NOK per unit]} for its first series."""
    try:
        doc: Any = json.loads(text)
        data = doc.get("data", doc)  # SDMX-JSON 1.0 puts dataSets at the top, 2.0 under "data"
        series = data["dataSets"][0]["series"]
        key, first = next(iter(series.items()))
        days = [v["id"] for v in data["structure"]["dimensions"]["observation"][0]["values"]]
        mult = 0
        for i, attr in enumerate(data["structure"].get("attributes", {}).get("series", [])):
            if attr.get("id") == "UNIT_MULT":
                pos = (first.get("attributes") or [0] * (i + 1))[i] or 0
                mult = int(attr["values"][pos]["id"])
        rates = {}
        for idx, values in first["observations"].items():
            rates[date.fromisoformat(days[int(idx)])] = float(values[0]) / 10**mult
    except (ValueError, KeyError, IndexError, TypeError, StopIteration, AttributeError) as exc:
        raise ExchangeRateError(f"Norges Bank answer not understood ({type(exc).__name__}: {exc})") from None
    if not rates:
        raise ExchangeRateError(f"Norges Bank answer has no observations (series {key})")
    return rates


def rate_on(rates: dict[date, float], day: date) -> float:
    """The latest rate on or before ``day`` [NOK per unit]."""
    known = [d for d in rates if d <= day]
    if not known:
        raise ExchangeRateError(f"no exchange rate on or before {day.isoformat()}")
    return rates[max(known)]


def get_norges_bank_rate(
    day: date,
    base: str = "EUR",
    *,
    quote: str = "NOK",
    timeout_s: float = 10.0,
    base_url: str = NORGES_BANK_URL,
) -> float:
    """The reference rate of ``base`` in ``quote`` valid on ``day`` (last business day) [quote/base]."""
    query = urllib.parse.urlencode(
        {
            "format": "sdmx-json",
            "startPeriod": (day - timedelta(days=10)).isoformat(),
            "endPeriod": day.isoformat(),
            "locale": "en",
        }
    )
    url = f"{base_url}/B.{base}.{quote}.SP?{query}"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:
        raise ExchangeRateError(f"Norges Bank: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ExchangeRateError(f"Norges Bank unreachable: {getattr(exc, 'reason', exc)}") from None
    return rate_on(parse_norges_bank_json(body), day)


class ConfiguredRate:
    """The EUR rate of ``[tariff]`` for ``day`` [currency per EUR]: Norges Bank's reference rate when
    ``exchange_rate = "norges_bank"`` (``currency_per_eur`` when that fails), else the fixed one.

    `value` is asked only when a price needs converting, and only once; `used` then says the rate
    and its source (``{"currency_per_eur": 11.689, "source": "norges_bank"}``), None before.
    """

    def __init__(self, tariff: TariffConfig, day: date, currency: str) -> None:
        self.tariff, self.day, self.currency = tariff, day, currency
        self.used: dict[str, Any] | None = None

    def value(self) -> float:
        if self.used is not None:
            return float(self.used["currency_per_eur"])
        rate, source = self.tariff.currency_per_eur, "fixed ([tariff].currency_per_eur)"
        if self.tariff.exchange_rate == "norges_bank":
            try:
                rate = get_norges_bank_rate(
                    self.day,
                    "EUR",
                    quote=self.currency,
                    timeout_s=self.tariff.entsoe_timeout_s,
                    base_url=self.tariff.norges_bank_url,
                )
                source = "norges_bank"
            except ExchangeRateError as exc:
                source = f"fixed ([tariff].currency_per_eur): {exc}"
        self.used = {"currency_per_eur": rate, "source": source}
        return float(rate)
