"""What a price or a bill includes and what it leaves out, in words a household reads.

Every output that shows money (`hems tariff show`, `hems report`, `hems bill`) says which parts
its figures hold and which it could not price (no spot price known, no grid company), so a total
is never mistaken for the whole bill. `included(...)` gives the two lists; `missing_days` words a
set of days without spot prices.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from tariffs.household import HouseholdTariff
from tariffs.norway import norgespris, public_charges


def missing_days(days: Sequence[date], of: int) -> str:
    """``days`` (sorted, non-empty) out of ``of`` days, e.g. "2026-03-03" or "3 of 7 days, ..."."""
    if len(days) == 1:
        return days[0].isoformat()
    if len(days) == of:
        return f"{days[0]}..{days[-1]}"
    return f"{len(days)} of {of} days, {days[0]}..{days[-1]}"


def included(
    household: HouseholdTariff,
    day: date,
    *,
    spot_missing: Sequence[date] = (),
    days: int = 1,
    capacity: str = "capacity step",
    fixed: bool = True,
) -> tuple[list[str], list[str]]:
    """(included, left out) for prices or a bill starting on local ``day`` over ``days`` days.

    ``spot_missing``: the days without a known spot price; ``capacity``: how the capacity part
    is counted ("capacity steps", "capacity step 1/31 of the month"); ``fixed``: whether monthly
    fixed fees are part of the figures.
    """
    cfg = household.config
    inc: list[str] = []
    out: list[str] = []
    norway = household.country == "NO"
    grid = household.grid_tariff(day)
    if grid is not None:
        inc.append(f"{grid.company} grid tariff (energy part, {capacity})")
    elif norway:
        out.append("grid tariff (no grid company: --company NAME or [tariff].grid_company)")
    if household.own_bands is not None:
        inc.append(f"{cfg.band_preset} bands" if cfg.band_preset else "own time-of-use bands")
    spot_known = len(spot_missing) < days
    scheme = household.scheme_on(day)
    if cfg.spot:
        if spot_known:
            inc.append("spot price")
        if spot_missing:
            out.append(f"spot price (none known for {missing_days(sorted(spot_missing), days)})")
    if scheme == "norgespris" and norgespris(day) is not None:
        inc.append("Norgespris")
    elif scheme == "stromstotte" and cfg.spot and spot_known and not household.holiday_home:
        inc.append("strømstøtte")
    if cfg.supplier_markup_per_kwh:
        inc.append("supplier mark-up")
    if fixed and household.monthly_fixed():
        inc.append("fixed fees")
    if norway:
        if cfg.energy_tax_per_kwh is not None:
            inc.append("energy tax")
        elif public_charges(day, cfg.vat_region).elavgift_per_kwh:
            inc.append("elavgift, Enova fee")
        else:
            inc.append("Enova fee")
    elif cfg.energy_tax_per_kwh:
        inc.append("energy tax")
    vat = household.vat_rate(day)
    inc.append(f"VAT {vat * 100:g} %" if vat else "no VAT")
    return inc, out
