"""What a consumption history costs: energy per slot, capacity and fixed parts per month.

`cost(household, energy, spot)` is the one bill computation that reports and the optimiser's
inputs share (both go through `HouseholdTariff.slot_prices`), so they always agree.

- Energy: each slot's import at its all-in price minus its export at the export price. The
  strømstøtte/Norgespris cap (5000 kWh per month; 1000 for holiday homes with Norgespris) counts
  the imports in the series from the start of each month it covers: kWh above the cap pay the price
  without the scheme.
- Capacity: per local calendar month, the step picked by the month's figure (see
  `tariffs.capacity`), from the tariff valid on the first day of the month in the series.
- Fixed: supplier fee, other fixed fees and the Italian power fee, per month.
Monthly parts are prorated by the share of the month the series covers (a whole month: 1).
All amounts include VAT [currency].
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tariffs.capacity import capacity_figure, month_bounds
from tariffs.household import HouseholdTariff, SlotPrices
from tariffs.norway import norgespris, stromstotte
from tariffs.series import EnergySeries, PriceSeries


@dataclass(frozen=True, slots=True)
class MonthCost:
    """One local calendar month of a bill [currency, VAT included]."""

    month: str  #: "YYYY-MM"
    share_of_month: float  #: the part of the month the series covers [0..1]
    e_import_kwh: float
    e_export_kwh: float
    energy_cost: float  #: imports minus export revenue
    capacity_method: str | None
    capacity_figure: float | None  #: [kW], or [A] for fuse-based tariffs
    capacity_step: str | None  #: e.g. "5-10 kW"
    capacity_cost: float
    fixed_cost: float

    @property
    def total(self) -> float:
        return self.energy_cost + self.capacity_cost + self.fixed_cost


@dataclass(frozen=True)
class Bill:
    """Per-slot and per-month costs of a consumption series [currency, VAT included]."""

    slots: list[datetime]
    slot_minutes: int
    import_cost: list[float]
    export_revenue: list[float]
    months: list[MonthCost]
    notes: list[str] = field(default_factory=list)
    #: per slot, the imported kWh the support scheme applies to (all of them up to the monthly cap)
    scheme_kwh: list[float] = field(default_factory=list)
    prices: SlotPrices | None = None  #: the slot prices the bill was computed with

    @property
    def slot_cost(self) -> list[float]:
        return [a - b for a, b in zip(self.import_cost, self.export_revenue, strict=True)]

    @property
    def energy_cost(self) -> float:
        return sum(m.energy_cost for m in self.months)

    @property
    def capacity_cost(self) -> float:
        return sum(m.capacity_cost for m in self.months)

    @property
    def fixed_cost(self) -> float:
        return sum(m.fixed_cost for m in self.months)

    @property
    def total(self) -> float:
        return self.energy_cost + self.capacity_cost + self.fixed_cost

    def by_day(self, tz: str) -> dict[date, float]:
        """Energy cost per local calendar day [currency]."""
        zone = ZoneInfo(tz)
        days: dict[date, float] = defaultdict(float)
        for t, c in zip(self.slots, self.slot_cost, strict=True):
            days[t.astimezone(zone).date()] += c
        return dict(days)


def slice_energy(energy: EnergySeries, start: datetime, end: datetime) -> EnergySeries:
    """The slots of ``energy`` that start in [start, end) (clipped to the series)."""
    step = timedelta(minutes=energy.slot_minutes)
    i = max(0, math.ceil((start - energy.start) / step))
    j = min(len(energy), math.ceil((end - energy.start) / step))
    j = max(i, j)
    return EnergySeries(
        energy.start + step * i, energy.slot_minutes, energy.e_import_kwh[i:j], energy.e_export_kwh[i:j]
    )


def _cap_kwh(household: HouseholdTariff, day: date) -> float | None:
    scheme = household.scheme_on(day)
    if scheme == "norgespris":
        np = norgespris(day, holiday_home=household.holiday_home)
        return np.cap_kwh_per_month if np else None
    if scheme == "stromstotte":
        rule = stromstotte(day, holiday_home=household.holiday_home)
        return rule.cap_kwh_per_month if rule else None
    return None


def cost(
    household: HouseholdTariff,
    energy: EnergySeries,
    spot: PriceSeries | None,
    *,
    history: EnergySeries | None = None,
) -> Bill:
    """The bill of ``energy`` under ``household``'s tariff, with ``spot`` prices (None: spot 0).

    ``history``: consumption up to the end of ``energy`` (including it) for capacity methods that
    look back a year (FEM_VEKTET_ÅR); default ``energy`` itself.
    """
    zone = ZoneInfo(household.tz)
    slots = energy.slot_starts()
    prices = household.slot_prices(slots, energy.slot_minutes, spot)
    import_cost: list[float] = []
    export_rev: list[float] = []
    scheme_kwh: list[float] = []
    used: dict[str, float] = defaultdict(float)  # scheme-eligible kWh so far, per month
    month_of: dict[str, list[int]] = defaultdict(list)
    caps: dict[date, float | None] = {}
    for i, t in enumerate(slots):
        local = t.astimezone(zone)
        key = f"{local.year:04d}-{local.month:02d}"
        month_of[key].append(i)
        e_imp, e_exp = energy.e_import_kwh[i], energy.e_export_kwh[i]
        price = prices.import_per_kwh[i]
        day = local.date()
        if day not in caps:
            caps[day] = _cap_kwh(household, day)
        cap = caps[day]
        if cap is not None:
            within = max(0.0, min(e_imp, cap - used[key]))
            used[key] += e_imp
            without_scheme = price - prices.scheme_per_kwh[i] * (1.0 + prices.vat_rate[i])
            import_cost.append(within * price + (e_imp - within) * without_scheme)
            scheme_kwh.append(within)
        else:
            import_cost.append(e_imp * price)
            scheme_kwh.append(e_imp)
        export_rev.append(e_exp * prices.export_per_kwh[i])
    months = [
        _month(household, energy, key, idx, import_cost, export_rev, history or energy)
        for key, idx in month_of.items()
    ]
    return Bill(
        slots, energy.slot_minutes, import_cost, export_rev, months, list(prices.notes), scheme_kwh, prices
    )


def _month(
    household: HouseholdTariff,
    energy: EnergySeries,
    key: str,
    idx: list[int],
    import_cost: list[float],
    export_rev: list[float],
    history: EnergySeries,
) -> MonthCost:
    year, month = int(key[:4]), int(key[5:])
    m_start, m_end = month_bounds(year, month, household.tz)
    part = slice_energy(energy, m_start, m_end)
    share = (min(part.end, m_end) - max(part.start, m_start)) / (m_end - m_start)
    first_day = part.start.astimezone(ZoneInfo(household.tz)).date()
    vat = household.vat_rate(first_day)
    grid = household.grid_tariff(first_day)
    method = figure = step = None
    capacity = 0.0
    if grid is not None:
        rule = grid.capacity
        year_back = slice_energy(history, m_end - timedelta(days=365), m_end)
        figure = capacity_figure(
            rule, part, household.tz, main_fuse_a=household.main_fuse_a, year_energy=year_back
        )
        method = rule.method
        step = f"{figure:.2f} kW (linear)" if rule.linear else rule.step_label(rule.step_index(figure))
        capacity = rule.price_for(figure) * (1.0 + vat) * share
    fixed = household.monthly_fixed() * (1.0 + vat) * share
    return MonthCost(
        month=key,
        share_of_month=share,
        e_import_kwh=sum(energy.e_import_kwh[i] for i in idx),
        e_export_kwh=sum(energy.e_export_kwh[i] for i in idx),
        energy_cost=sum(import_cost[i] - export_rev[i] for i in idx),
        capacity_method=method,
        capacity_figure=figure,
        capacity_step=step,
        capacity_cost=capacity,
        fixed_cost=fixed,
    )
