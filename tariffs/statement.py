"""A Norwegian household's month as its two bills show it, line by line (`hems bill`).

`statement(household, month_energy, spot)` splits the month into the lines of the grid bill
(energy part, capacity step, elavgift, Enova fee, strømstøtte or the Norgespris settlement) and of
the power bill (spot price, supplier mark-up and fee), each excluding VAT, then the VAT and the
total. It prices through the same `tariffs.cost.cost` as reports and the planner, and its total
equals that bill's (the tests hold them to each other). Without spot prices only the grid bill's
own parts are given: the spot part and the support, which depends on it, are left out and the
notes say so.

Lines [currency, excl. VAT]: ``energy`` (the grid company's energy part), ``capacity``,
``elavgift``, ``enova``, ``support`` (strømstøtte, negative; or the Norgespris settlement:
Norgespris − hourly spot on the first 5000 kWh), ``spot``, ``markup``, ``fixed``; then ``vat``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from tariffs.cost import cost
from tariffs.describe import included
from tariffs.household import HouseholdTariff
from tariffs.norway import public_charges
from tariffs.series import EnergySeries, PriceSeries

GRID_LINES = ("energy", "capacity", "elavgift", "enova", "support")  #: on the grid company's invoice
POWER_LINES = ("spot", "markup", "fixed")  #: on the power supplier's invoice
SCHEME_NAMES = {"stromstotte": "strømstøtte", "norgespris": "Norgespris settlement", "none": "support"}


@dataclass
class Statement:
    """One month of a household's bills [currency]."""

    company: str
    month: str  #: "YYYY-MM"
    scheme: str  #: the scheme in force: "stromstotte", "norgespris" or "none"
    customer_group: str
    kwh: float  #: imported in the month [kWh]
    lines: dict[str, float]  #: excl. VAT, then "vat"
    total: float  #: VAT included
    currency: str
    capacity_basis_kw: float | None  #: the figure the step was chosen by [kW] (None: by fuse size)
    capacity_step: str | None
    capacity_method: str | None
    includes: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    vat_by_line: dict[str, float] = field(default_factory=dict)  #: the VAT on each line

    def _with_vat(self, keys: tuple[str, ...]) -> float:
        return sum(self.lines.get(k, 0.0) + self.vat_by_line.get(k, 0.0) for k in keys)

    @property
    def grid_bill(self) -> float:
        """What the grid company's invoice adds up to, VAT included."""
        return self._with_vat(GRID_LINES)

    @property
    def power_bill(self) -> float:
        """What the power supplier's invoice adds up to, VAT included."""
        return self._with_vat(POWER_LINES)

    def to_dict(self) -> dict[str, Any]:
        r2 = lambda x: round(x, 2)  # noqa: E731
        return {
            "company": self.company,
            "month": self.month,
            "scheme": self.scheme,
            "customer_group": self.customer_group,
            "kwh": round(self.kwh, 3),
            "lines": {k: r2(v) for k, v in self.lines.items()},
            "total": r2(self.total),
            "grid_bill": r2(self.grid_bill),
            "power_bill": r2(self.power_bill),
            "currency": self.currency,
            "vat_included": True,
            "capacity_basis_kw": None if self.capacity_basis_kw is None else round(self.capacity_basis_kw, 3),
            "capacity_step": self.capacity_step,
            "capacity_method": self.capacity_method,
            "includes": self.includes,
            "left_out": self.left_out,
            "notes": self.notes,
        }


def statement(
    household: HouseholdTariff,
    month_energy: EnergySeries,
    spot: PriceSeries | None,
    *,
    year_energy: EnergySeries | None = None,
) -> Statement:
    """The bills of one whole local month ``month_energy`` (its first slot is the month's start).

    ``year_energy``: the 12 months up to the month's end, for capacity methods that look back a
    year (Fjellnett); default the month alone.
    """
    zone = ZoneInfo(household.tz)
    first_day = month_energy.start.astimezone(zone).date()
    bill = cost(household, month_energy, spot, history=year_energy)
    key = f"{first_day:%Y-%m}"
    (month,) = bill.months
    prices = bill.prices
    assert prices is not None
    lines = dict.fromkeys(("energy", "capacity", "elavgift", "enova"), 0.0)
    with_spot = spot is not None and household.config.spot
    if with_spot:
        lines.update(support=0.0, spot=0.0)
    vat: dict[str, float] = {}
    charges: dict[date, tuple[float, float]] = {}
    for i, e in enumerate(month_energy.e_import_kwh):
        day = bill.slots[i].astimezone(zone).date()
        if day not in charges:
            pc = public_charges(day, household.config.vat_region)
            charges[day] = (pc.elavgift_per_kwh, pc.enova_per_kwh)
        el, en = charges[day]
        if household.config.energy_tax_per_kwh is not None:
            el, en = household.config.energy_tax_per_kwh, 0.0
        parts = {"energy": prices.grid_per_kwh[i] * e, "elavgift": el * e, "enova": en * e}
        if with_spot:
            parts["spot"] = prices.spot_per_kwh[i] * e
            parts["support"] = prices.scheme_per_kwh[i] * bill.scheme_kwh[i]
        if prices.markup_per_kwh[i]:
            parts["markup"] = prices.markup_per_kwh[i] * e
        for k, v in parts.items():
            lines[k] = lines.get(k, 0.0) + v
            vat[k] = vat.get(k, 0.0) + prices.vat_rate[i] * v
    vat_m = household.vat_rate(first_day)
    lines["capacity"] = month.capacity_cost / (1.0 + vat_m)
    vat["capacity"] = month.capacity_cost - lines["capacity"]
    if month.fixed_cost:
        lines["fixed"] = month.fixed_cost / (1.0 + vat_m)
        vat["fixed"] = month.fixed_cost - lines["fixed"]
    lines["vat"] = sum(vat.values())
    grid = household.grid_tariff(first_day)
    includes, left_out = included(household, first_day, capacity="capacity step")
    notes = [n for n in bill.notes if not n.startswith("no spot price for")]
    missing_spot = [n for n in bill.notes if n.startswith("no spot price for")]
    if not with_spot:
        includes = [p for p in includes if p not in ("spot price", "strømstøtte", "Norgespris")]
        if household.config.spot:
            left_out.append("spot price and the support that depends on it (no prices: --prices FILE)")
    elif missing_spot:
        left_out.append(missing_spot[0].replace("spot part 0 there", "spot price and support 0 there"))
    figure = month.capacity_figure
    by_fuse = grid is not None and grid.capacity.method == "OV_TREFASE"
    return Statement(
        company=grid.company if grid else "",
        month=key,
        scheme=household.scheme_on(first_day),
        customer_group=household.config.customer_group,
        kwh=sum(month_energy.e_import_kwh),
        lines=lines,
        total=sum(lines.values()),
        currency=household.currency,
        capacity_basis_kw=None if by_fuse else figure,
        capacity_step=month.capacity_step,
        capacity_method=month.capacity_method,
        includes=includes,
        left_out=left_out,
        notes=notes,
        vat_by_line=vat,
    )
