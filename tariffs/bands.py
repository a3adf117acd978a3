"""Time-of-use bands: "this price on these days, in these hours, in these months".

A `BandTable` holds a base price and an ordered list of `Band`s; the first band whose days, hours
and months all match a local time wins, otherwise the base applies. This one form carries the
Norwegian grid companies' energy parts (day/night/weekend/holiday, seasons), Italy's F1/F2/F3
(ARERA 181/06) and a household's own bands from the config.

Days (English, with the fri-nettleie Norwegian words as aliases; several values mean OR):
``mon``..``sun`` (``mandag``..``søndag``), ``weekday`` Mon–Fri (``ukedag``), ``weekend`` Sat–Sun
(``helg``), ``holiday`` a public holiday (``helligdager``), ``dayoff`` weekend or holiday
(``fridag``), ``workday`` not a day off (``virkedag``), ``all`` (``alle``).
Hours are local clock hours, ranges inclusive: ``"6-21"`` is 06:00–21:59; ``"22-5"`` wraps past
midnight; ``"7,19-22"`` lists. On DST days the last hour is still 23. Public holidays come from the
``holidays`` package for the site's country.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from importlib.resources import files
from typing import Any

DAY_ALIASES = {
    "mandag": "mon", "tirsdag": "tue", "onsdag": "wed", "torsdag": "thu", "fredag": "fri",
    "lørdag": "sat", "søndag": "sun", "ukedag": "weekday", "helg": "weekend",
    "helligdager": "holiday", "helligdag": "holiday", "fridag": "dayoff", "virkedag": "workday",
    "alle": "all",
}  # fmt: skip
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_WORDS = (*WEEKDAYS, "weekday", "weekend", "holiday", "dayoff", "workday", "all")
MONTH_NAMES = (
    "januar", "februar", "mars", "april", "mai", "juni",
    "juli", "august", "september", "oktober", "november", "desember",
)  # fmt: skip


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> frozenset[date]:
    import holidays  # imported on first use: it is slow to import, and config loading needs bands

    try:
        table = holidays.country_holidays(country, years=year)
    except NotImplementedError:
        raise ValueError(f"no public-holiday calendar for country {country!r}") from None
    return frozenset(table.keys())


def is_holiday(day: date, country: str) -> bool:
    """Whether ``day`` is a public holiday in ``country`` (ISO 3166 code, e.g. NO, IT)."""
    return day in _holidays(country, day.year)


def day_matches(word: str, day: date, country: str) -> bool:
    """Whether local calendar day ``day`` is of kind ``word`` (see the module docstring)."""
    w = DAY_ALIASES.get(word, word)
    wd = day.weekday()
    if w == "all":
        return True
    if w in WEEKDAYS:
        return WEEKDAYS.index(w) == wd
    if w == "weekday":
        return wd < 5
    if w == "weekend":
        return wd >= 5
    if w == "holiday":
        return is_holiday(day, country)
    dayoff = wd >= 5 or is_holiday(day, country)
    if w == "dayoff":
        return dayoff
    if w == "workday":
        return not dayoff
    raise ValueError(f"unknown day kind {word!r}; expected one of {', '.join(DAY_WORDS)}")


def parse_hours(text: str | None) -> frozenset[int]:
    """``"6-21"`` → {6..21}; ``"22-5"`` → {22, 23, 0..5}; ``"7,19-22"``; None or "" → all 24."""
    if text is None or str(text).strip() == "":
        return frozenset(range(24))
    hours: set[int] = set()
    for part in str(text).split(","):
        bits = part.strip().split("-")
        try:
            nums = [int(b) for b in bits]
        except ValueError:
            raise ValueError(f"hours {text!r}: expected ranges like 6-21 or 22-5") from None
        if len(nums) not in (1, 2) or any(not 0 <= n <= 23 for n in nums):
            raise ValueError(f"hours {text!r}: expected hours 0-23 as H or H-H, comma separated")
        a, b = nums[0], nums[-1]
        hours.update(range(a, b + 1) if a <= b else [*range(a, 24), *range(0, b + 1)])
    return frozenset(hours)


def parse_months(values: Iterable[int | str] | None) -> frozenset[int]:
    """Month numbers 1–12 or Norwegian month names; None → all twelve."""
    if values is None:
        return frozenset(range(1, 13))
    out: set[int] = set()
    for v in values:
        if isinstance(v, int) and 1 <= v <= 12:
            out.add(v)
        elif isinstance(v, str) and v.lower() in MONTH_NAMES:
            out.add(MONTH_NAMES.index(v.lower()) + 1)
        else:
            raise ValueError(f"month {v!r}: expected 1-12 or a Norwegian month name")
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class Band:
    """One time-of-use band: its price applies when day, hour and month all match."""

    name: str
    price_per_kwh: float  #: [NOK/kWh] (or the tariff's currency), excluding VAT
    days: tuple[str, ...] = ("all",)
    hours: frozenset[int] = frozenset(range(24))
    months: frozenset[int] = frozenset(range(1, 13))

    def __post_init__(self) -> None:
        for d in self.days:
            if DAY_ALIASES.get(d, d) not in DAY_WORDS:
                raise ValueError(f"band {self.name!r}: unknown day kind {d!r}")

    def matches(self, local: datetime, country: str) -> bool:
        """Whether the band applies at local (wall-clock) time ``local``."""
        if local.hour not in self.hours or local.month not in self.months:
            return False
        day = local.date()
        return any(day_matches(d, day, country) for d in self.days)


@dataclass(frozen=True, slots=True)
class BandTable:
    """A base price plus ordered bands; the first matching band wins."""

    base_name: str
    base_price_per_kwh: float  #: [NOK/kWh] excluding VAT
    bands: tuple[Band, ...] = ()

    def band_at(self, local: datetime, country: str) -> tuple[str, float]:
        """(band name, price [NOK/kWh]) at local time ``local``."""
        for band in self.bands:
            if band.matches(local, country):
                return band.name, band.price_per_kwh
        return self.base_name, self.base_price_per_kwh


def band_presets() -> dict[str, Any]:
    """The packaged band presets (``tariffs/data/band_presets.toml``): name → {base, bands}."""
    text = files("tariffs").joinpath("data/band_presets.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def preset_bands(preset: str, prices_per_kwh: dict[str, float]) -> BandTable:
    """A band preset (e.g. ``IT_F1F2F3``) as a `BandTable`, given the contract's price per band
    [currency/kWh, excluding VAT]."""
    presets = band_presets()
    if preset not in presets:
        raise ValueError(f"unknown band preset {preset!r}; known: {', '.join(sorted(presets))}")
    spec = presets[preset]
    names = {spec["base"], *(b["name"] for b in spec["bands"])}
    missing = names - set(prices_per_kwh)
    if missing:
        raise ValueError(
            f"band preset {preset} needs a price for each of {sorted(names)}; missing {sorted(missing)}"
        )
    bands = tuple(
        Band(
            b["name"],
            prices_per_kwh[b["name"]],
            tuple(b.get("days", ["all"])),
            parse_hours(b.get("hours")),
            parse_months(b.get("months")),
        )
        for b in spec["bands"]
    )
    return BandTable(spec["base"], prices_per_kwh[spec["base"]], bands)
