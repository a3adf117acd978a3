"""Norwegian grid tariffs (nettleie): the packaged presets of every grid company, by name or GLN.

The presets are the fri-nettleie dataset (kraftsystemet/fri-nettleie, CC BY 4.0), shipped as
``tariffs/data/fri_nettleie.json`` (see `tariffs.build_presets`). Prices there are excluding VAT
and taxes: the capacity part (fastledd) in NOK per year per step, the energy part (energiledd) in
øre/kWh. Here they become a `GridTariff` with NOK/month steps and NOK/kWh bands.

Anything that shows or ships these data credits them with `CREDIT`.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib.resources import files
from typing import Any, Literal

from tariffs.bands import Band, BandTable, parse_hours, parse_months

CREDIT = "Grid tariff data: fri-nettleie, kraftsystemet.no (CC BY 4.0)"
CapacityMethod = Literal["TRE_DØGNMAX_MND", "FEM_VEKTET_ÅR", "MND_MAX", "OV_TREFASE", "UKJENT"]
METHODS: tuple[str, ...] = ("TRE_DØGNMAX_MND", "FEM_VEKTET_ÅR", "MND_MAX", "OV_TREFASE", "UKJENT")


@dataclass(frozen=True, slots=True)
class CapacityRule:
    """The capacity part: a step price chosen by a measured figure.

    ``lower`` are the steps' lower bounds (kW; for ``OV_TREFASE`` the main fuse in A), ascending,
    the first 0. With ``threshold_inclusive`` a figure exactly on a bound lands in the step it
    starts (fri-nettleie ``terskel_inkludert``); otherwise in the step below.
    """

    method: str  #: one of `METHODS`
    lower: tuple[float, ...]
    price_per_month: tuple[float, ...]  #: [NOK/month] excluding VAT, one per step
    threshold_inclusive: bool = True

    def step_index(self, figure: float) -> int:
        """Index of the step that ``figure`` [kW or A] falls in."""
        idx = 0
        for i, low in enumerate(self.lower):
            if figure > low or (self.threshold_inclusive and figure == low):
                idx = i
        return idx

    @property
    def linear(self) -> bool:
        """FEM_VEKTET_ÅR is a base amount plus a rate per kW (Fjellnett 2026: 2000 NOK/yr + 534
        NOK/kW/yr); its table lists points on that line, so the price is interpolated."""
        return self.method == "FEM_VEKTET_ÅR"

    def price_for(self, figure: float) -> float:
        """Monthly price for ``figure`` [NOK/month, excl. VAT]: its step's price, or on the line
        through the table's points for linear methods (extended past the last point)."""
        i = self.step_index(figure)
        if not self.linear or len(self.lower) < 2:
            return self.price_per_month[i]
        i = min(i, len(self.lower) - 2)
        x0, x1 = self.lower[i], self.lower[i + 1]
        y0, y1 = self.price_per_month[i], self.price_per_month[i + 1]
        return y0 + (y1 - y0) * (figure - x0) / (x1 - x0)

    def step_label(self, i: int) -> str:
        unit = "A" if self.method == "OV_TREFASE" else "kW"
        hi = f"{self.lower[i + 1]:g}" if i + 1 < len(self.lower) else ""
        return f"{self.lower[i]:g}-{hi} {unit}"


@dataclass(frozen=True, slots=True)
class GridTariff:
    """One grid company's household tariff for one validity period."""

    company: str
    gln: tuple[str, ...]
    valid_from: date
    valid_to: date | None  #: exclusive; None = open-ended
    customer_groups: tuple[str, ...]
    energy: BandTable  #: energy part [NOK/kWh, excl. VAT and taxes]
    capacity: CapacityRule
    name: str | None = None  #: for companies with several areas (Tensio "Nord"/"Sør")

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


@dataclass(frozen=True, slots=True)
class Company:
    name: str
    gln: tuple[str, ...]
    updated: str
    sources: tuple[str, ...]
    tariffs: tuple[GridTariff, ...]


def _energy(raw: dict[str, Any], where: str) -> BandTable:
    bands = []
    for i, exc in enumerate(raw.get("unntak") or []):
        if exc.get("pris") is None:
            raise ValueError(f"{where}: energiledd.unntak[{i}] has no pris")
        bands.append(
            Band(
                str(exc.get("navn") or f"unntak {i}"),
                round(float(exc["pris"]) / 100.0, 10),
                tuple(exc.get("dager") or ["all"]),
                parse_hours(exc.get("timer")),
                parse_months(exc.get("måneder")),
            )
        )
    return BandTable("grunnpris", round(float(raw["grunnpris"]) / 100.0, 10), tuple(bands))


def _capacity(raw: dict[str, Any], where: str) -> CapacityRule:
    method = raw["metode"]
    if method not in METHODS:
        raise ValueError(f"{where}: unknown fastledd.metode {method!r}")
    steps = sorted(raw["terskler"], key=lambda s: float(s["terskel"]))
    if not steps or float(steps[0]["terskel"]) != 0:
        raise ValueError(f"{where}: fastledd.terskler must start at terskel 0")
    inclusive = raw.get("terskel_inkludert")
    return CapacityRule(
        method,
        tuple(float(s["terskel"]) for s in steps),
        tuple(float(s["pris"]) / 12.0 for s in steps),
        True if inclusive is None else bool(inclusive),  # UKJENT: the usual rule
    )


def parse_company(doc: dict[str, Any]) -> Company:
    """One fri-nettleie company document (as JSON) → `Company` (ValueError names the field)."""
    name = str(doc.get("netteier"))
    tariffs = []
    for i, t in enumerate(doc.get("tariffer") or []):
        where = f"{doc.get('fil', name)}: tariffer[{i}]"
        try:
            tariffs.append(
                GridTariff(
                    company=name,
                    gln=tuple(doc.get("gln") or ()),
                    valid_from=date.fromisoformat(t["gyldig_fra"]),
                    valid_to=date.fromisoformat(t["gyldig_til"]) if t.get("gyldig_til") else None,
                    customer_groups=tuple(t.get("kundegrupper") or ()),
                    energy=_energy(t["energiledd"], where),
                    capacity=_capacity(t["fastledd"], where),
                    name=t.get("navn"),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None
    return Company(
        name,
        tuple(doc.get("gln") or ()),
        str(doc.get("sist_oppdatert", "")),
        tuple(doc.get("kilder") or ()),
        tuple(tariffs),
    )


@lru_cache(maxsize=1)
def companies() -> tuple[Company, ...]:
    """Every grid company in the packaged presets."""
    text = files("tariffs").joinpath("data/fri_nettleie.json").read_text(encoding="utf-8")
    return tuple(parse_company(doc) for doc in json.loads(text)["companies"])


def _fold(text: str) -> str:
    text = text.casefold().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if c.isalnum())


class UnknownCompany(ValueError):
    """No grid company has this name or GLN; ``suggestion`` is the closest name, if any is close."""

    def __init__(self, key: str, suggestion: str | None) -> None:
        hint = f" (did you mean {suggestion}?)" if suggestion else ""
        super().__init__(f"unknown grid company {key!r}{hint}; see `hems tariff companies` for the list")
        self.suggestion = suggestion


def _closest(key: str) -> str | None:
    import difflib

    by_fold = {_fold(c.name.removesuffix(" AS")): c.name for c in companies()}
    near = difflib.get_close_matches(_fold(key), list(by_fold), n=1, cutoff=0.75)
    return by_fold[near[0]] if near else None


def find_company(name_or_gln: str) -> Company:
    """The company with this GLN, exact name, or unambiguous name fragment ("elvia", "Tensio TN").

    Raises `UnknownCompany` (with the closest name) when none matches, ValueError listing the
    candidates when several do.
    """
    key = name_or_gln.strip()
    all_ = companies()
    by_gln = [c for c in all_ if key in c.gln]
    if len(by_gln) == 1:
        return by_gln[0]
    if by_gln:  # Area Nett: one GLN, a tariff per area
        names = ", ".join(c.name for c in by_gln)
        raise ValueError(f"GLN {key} belongs to several tariff areas; give the name instead: {names}")
    folded = _fold(key)
    if not folded:
        raise ValueError("grid company: expected a name or a 13-digit GLN, got an empty text")
    exact = [c for c in all_ if _fold(c.name) == folded or _fold(c.name.removesuffix(" AS")) == folded]
    if len(exact) == 1:
        return exact[0]
    partial = [c for c in all_ if folded in _fold(c.name)]
    if len(partial) == 1:
        return partial[0]
    if partial:
        names = ", ".join(sorted(c.name for c in partial))
        raise ValueError(f"grid company {key!r} is ambiguous: {names}")
    raise UnknownCompany(key, _closest(key))


def areas(company: Company) -> list[str]:
    """The names of the company's tariff areas (Tensio TN: ["Nord"]); [] for one tariff area."""
    return sorted({t.name for t in company.tariffs if t.name is not None})


def has_area(company: Company, area: str) -> bool:
    """Whether ``area`` names one of the company's tariff areas (case and accents aside)."""
    return _fold(area) in {_fold(a) for a in areas(company)}


def tariff_on(company: Company, day: date, group: str = "husholdning", area: str | None = None) -> GridTariff:
    """The company's tariff valid on ``day`` for customer ``group`` (and ``area``, if named: that
    area's tariff, or the whole network's when the area has none on ``day``)."""
    valid = [t for t in company.tariffs if t.valid_on(day) and group in t.customer_groups]
    if area is not None:  # the area's own tariff; the whole network's where the areas were merged
        named = [t for t in valid if t.name is not None and _fold(t.name) == _fold(area)]
        valid = named or [t for t in valid if t.name is None]
    if not valid:
        raise ValueError(
            f"{company.name} has no {group} tariff valid on {day.isoformat()}"
            + (f" for area {area!r}" if area else "")
        )
    # Prefer the un-named (whole-network) tariff, then the latest start.
    valid.sort(key=lambda t: (t.name is not None, -t.valid_from.toordinal()))
    return valid[0]
