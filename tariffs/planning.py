"""What the optimiser needs for one day: per-slot all-in prices and the capacity steps.

`day_inputs(household, day, spot)` returns the ``[series]`` price arrays and the
``[capacity_tariff]`` table of the scenario format (docs/scenario-format.md): ``step_upper_kw``,
``step_price`` (per month, VAT included, non-decreasing) and ``month_peaks_kw`` (the daily peaks
already recorded on earlier days of the same month, from ``history``). The prices come from
`HouseholdTariff.slot_prices`, the same function `tariffs.cost.cost` bills with.

Only the ``TRE_DØGNMAX_MND`` method (and ``UKJENT``, billed the same way) has the scenario
format's shape; for the other methods ``capacity_tariff`` is None and a note says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tariffs.capacity import daily_peaks_kw, month_bounds
from tariffs.cost import slice_energy
from tariffs.household import HouseholdTariff, SlotPrices
from tariffs.series import EnergySeries, PriceSeries, day_slots


@dataclass(frozen=True)
class DayInputs:
    """Prices of one local day for the planner [currency/kWh; capacity in currency/month]."""

    day: date
    slots: list[datetime]  #: UTC slot starts (92/96/100 quarter-hours, 23/24/25 hours)
    slot_minutes: int
    import_price_per_kwh: list[float]
    export_price_per_kwh: list[float]
    capacity_tariff: dict[str, Any] | None  #: scenario format [capacity_tariff], or None
    power_limit_kw: float | None  #: Italy: contracted power + 10 %
    prices: SlotPrices  #: the components behind the prices
    notes: list[str] = field(default_factory=list)


def capacity_table(
    household: HouseholdTariff, day: date, history: EnergySeries | None = None
) -> tuple[dict[str, Any] | None, str | None]:
    """(scenario ``[capacity_tariff]`` for ``day``, or None with the reason)."""
    grid = household.grid_tariff(day)
    if grid is None:
        return None, None
    rule = grid.capacity
    if rule.method not in ("TRE_DØGNMAX_MND", "UKJENT"):
        return None, (
            f"capacity method {rule.method} of {grid.company} is not the three-daily-peaks rule; "
            "it is billed by tariffs.cost but not given to the planner"
        )
    vat = household.vat_rate(day)
    peaks: list[float] = []
    if history is not None:
        m_start, _ = month_bounds(day.year, day.month, household.tz)
        d_start = day_slots(day, household.tz, 60)[0]
        before = slice_energy(history, m_start, d_start)
        if len(before):
            peaks = [round(v, 6) for d, v in sorted(daily_peaks_kw(before, household.tz).items())]
    table = {
        "step_upper_kw": list(rule.lower[1:]),
        "step_price": [round(p * (1.0 + vat), 6) for p in rule.price_per_month],
        "month_peaks_kw": peaks,
    }
    return table, None


def day_inputs(
    household: HouseholdTariff,
    day: date,
    spot: PriceSeries | None,
    *,
    slot_minutes: int = 15,
    history: EnergySeries | None = None,
) -> DayInputs:
    """Per-slot import/export prices of local ``day`` and its capacity steps.

    ``spot``: the day's spot prices in the household's currency [currency/kWh] (any resolution;
    None = unknown, spot part 0); ``history``: metered consumption of the month so far.
    """
    slots = day_slots(day, household.tz, slot_minutes)
    prices = household.slot_prices(slots, slot_minutes, spot)
    table, why = capacity_table(household, day, history)
    notes = list(prices.notes) + ([why] if why else [])
    return DayInputs(
        day,
        slots,
        slot_minutes,
        prices.import_per_kwh,
        prices.export_per_kwh,
        table,
        household.power_limit_kw(),
        prices,
        notes,
    )
