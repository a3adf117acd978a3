"""Norway's public charges and support schemes, from ``tariffs/data/no_public_charges.toml``.

All amounts excluding VAT [NOK/kWh]. Three tax regions (fri-nettleie README, research A.3):
``standard`` (VAT 25 %, elavgift), ``north`` (Nordland and Troms outside tiltakssonen: elavgift,
no VAT) and ``tiltakssonen`` (Finnmark and seven Nord-Troms municipalities: neither). The Enova fee
applies everywhere.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from importlib.resources import files
from typing import Any, Literal

VatRegion = Literal["standard", "north", "tiltakssonen"]


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    text = files("tariffs").joinpath("data/no_public_charges.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _period(name: str, day: date) -> tuple[dict[str, Any], bool]:
    """The period of list ``name`` that contains ``day``; (last known, True) beyond the table."""
    periods = _table()[name]
    for p in periods:
        if date.fromisoformat(p["from"]) <= day < date.fromisoformat(p["until"]):
            return p, False
    if day >= date.fromisoformat(periods[-1]["until"]):
        return periods[-1], True
    raise LookupError(f"no {name} rate known for {day.isoformat()} (table starts {periods[0]['from']})")


def last_known_year(name: str) -> int:
    """The last year list ``name`` ("elavgift", "stromstotte", "norgespris") has a rate for."""
    return (date.fromisoformat(_table()[name][-1]["until"]) - timedelta(days=1)).year


def vat_rate(region: VatRegion) -> float:
    """VAT on power, grid tariff and charges for a household in ``region`` [fraction]."""
    return 0.0 if region in ("north", "tiltakssonen") else float(_table()["vat_rate"])


@dataclass(frozen=True, slots=True)
class PublicCharges:
    """Per-kWh charges of one day, excluding VAT."""

    elavgift_per_kwh: float  #: consumption tax [NOK/kWh]
    enova_per_kwh: float  #: Enova fee [NOK/kWh]
    vat_rate: float  #: [fraction]
    carried_forward: bool  #: True when ``day`` is after the last known rate (last one reused)


def public_charges(day: date, region: VatRegion) -> PublicCharges:
    """The public charges a household in ``region`` pays per kWh on ``day``."""
    el, late1 = _period("elavgift", day)
    en, late2 = _period("enova", day)
    elavgift = 0.0 if region == "tiltakssonen" else float(el["per_kwh"])
    return PublicCharges(elavgift, float(en["per_kwh"]), vat_rate(region), late1 or late2)


@dataclass(frozen=True, slots=True)
class Stromstotte:
    threshold_per_kwh: float  #: [NOK/kWh] excl. VAT
    rate: float  #: share of the price above the threshold that the state pays
    cap_kwh_per_month: float
    carried_forward: bool = False  #: the year's threshold is not known: the last known one is used

    def support_per_kwh(self, hourly_spot_per_kwh: float) -> float:
        """Support for one hour, as a NEGATIVE price component [NOK/kWh, excl. VAT]."""
        return -self.rate * max(0.0, hourly_spot_per_kwh - self.threshold_per_kwh)


def stromstotte(day: date, holiday_home: bool = False) -> Stromstotte | None:
    """The strømstøtte rule on ``day`` (hourly basis since Sep 2023); None before it existed, and
    always None for a holiday home (Forskrift om strømstønad § 3 a: support is for homes only) and
    from `stromstotte_ends`. A year past the last known threshold reuses it (``carried_forward``)."""
    if holiday_home or day >= stromstotte_ends():
        return None
    try:
        p, late = _period("stromstotte", day)
    except LookupError:
        return None
    cap = float(_table()["stromstotte_cap_kwh_per_month"])
    return Stromstotte(float(p["threshold_per_kwh"]), float(p["rate"]), cap, late)


def stromstotte_ends() -> date:
    """The first day without strømstøtte (the regulation runs to 31.12.2029)."""
    return date.fromisoformat(_table()["stromstotte_ends"])


def norgespris_starts() -> date:
    """The first day of Norgespris (1 Oct 2025)."""
    return date.fromisoformat(_table()["norgespris"][0]["from"])


@dataclass(frozen=True, slots=True)
class Norgespris:
    price_per_kwh: float  #: fixed power price [NOK/kWh] excl. VAT
    cap_kwh_per_month: float
    carried_forward: bool


def norgespris(day: date, holiday_home: bool = False) -> Norgespris | None:
    """The Norgespris on ``day`` (from 1 Oct 2025); None before the scheme started."""
    try:
        p, late = _period("norgespris", day)
    except LookupError:
        return None
    key = "norgespris_cap_kwh_per_month_fritid" if holiday_home else "norgespris_cap_kwh_per_month"
    return Norgespris(float(p["per_kwh"]), float(_table()[key]), late)
