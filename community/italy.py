"""Italy's CER (comunità energetica rinnovabile): the incentive on hourly shared energy.

Shared energy (energia condivisa, ARERA TIAD, delibera 727/2022/R/eel): for each hour, the minimum
of the energy the community's plants injected and the energy its members withdrew
(`community.allocation.allocate` with ``virtual=True``). Members keep buying every kWh from their own
supplier and plants sell every kWh they inject; the GSE pays the community on the shared energy:

- **Tariffa premio (TIP)**, DM MASE 7 December 2023 n. 414 (in force 24 January 2024), Annex 1,
  per plant and hour, in EUR/MWh, with Pz the hourly zonal price [EUR/MWh]:
  ``min(cap, fixed + max(0, 180 − Pz))`` with (fixed, cap) = (80, 120) up to 200 kW,
  (70, 110) above 200 kW up to 600 kW, (60, 100) above 600 kW; plus for PV plants a regional
  correction of +4 EUR/MWh (Lazio, Marche, Toscana, Umbria, Abruzzo) or +10 EUR/MWh (the northern
  regions). Paid for 20 years to plants in service by 31 December 2027 (or until 5 GW are reached).
  Figures as published by the GSE ("Tariffe incentivanti per CER", FAQ) and the Regione
  Emilia-Romagna's summary, read in 2025. ``tip_reduction`` applies the GSE's reduction for
  capital grants as the community's convention states it (not computed here).
- **Valorisation** (contributo di valorizzazione, TIAD): a unit value ARERA updates every year
  (about 8 EUR/MWh in 2024); give ``valorisation_per_kwh`` and its source, or it is left out and
  the bill says so.
- **55 % rule** (DM 414/2023 art. 3): the incentive on shared energy above 55 % (45 % with a
  capital grant) of the energy injected goes only to non-business consumers or to social purposes.
  hems reports that amount over the billing month; how the statute assigns it is the community's.

Where no zonal price is known for an hour, the TIP's variable part (0–40 EUR/MWh) is left out
there and the bill says the incentive is a lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from community.members import Italy
from tariffs.series import PriceSeries

SOURCE = "DM MASE 7.12.2023 n. 414, Annex 1 (GSE FAQ 'Tariffe incentivanti per CER'), read 2025"
BANDS = (
    (200.0, Decimal(80), Decimal(120)),
    (600.0, Decimal(70), Decimal(110)),
    (float("inf"), Decimal(60), Decimal(100)),
)


def tip_eur_per_mwh(plant_kw: float, pz_eur_per_mwh: Decimal | None, pv_correction: Decimal) -> Decimal:
    """The tariffa premio of one hour [EUR/MWh]; without a zonal price, its fixed part only."""
    fixed, cap = next((f, c) for limit, f, c in BANDS if plant_kw <= limit)
    variable = Decimal(0) if pz_eur_per_mwh is None else max(Decimal(0), Decimal(180) - pz_eur_per_mwh)
    return min(cap, fixed + variable) + pv_correction


def hourly_zonal(prices: PriceSeries | None, hours: list[datetime]) -> list[Decimal | None]:
    """Pz per hour [EUR/MWh]: the hour's mean of the price series (quarter-hours since Oct 2025)."""
    if prices is None or prices.currency != "EUR":
        return [None] * len(hours)
    out: list[Decimal | None] = []
    for h in hours:
        if prices.covers(h, h + timedelta(hours=1)):
            out.append(Decimal(repr(prices.on_slots([h], 60)[0])) * 1000)
        else:
            out.append(None)
    return out


@dataclass
class Incentive:
    """The month's CER money [EUR]: per hour, and what the 55 % rule earmarks."""

    rate_per_kwh: list[Decimal]  #: the benefit per kWh of shared energy in each hour [EUR/kWh]
    tip: Decimal  #: tariffa premio over the month
    valorisation: Decimal
    plant_tip: dict[str, Decimal]  #: each plant's TIP over the month
    earmarked: Decimal  #: incentive on shared energy above the 55 % (45 %) threshold
    notes: list[str]

    @property
    def total(self) -> Decimal:
        return self.tip + self.valorisation


def incentive(
    settings: Italy,
    plants: dict[str, tuple[float, bool]],
    shared: dict[str, list[int]],
    injected_wh: int,
    hours: list[datetime],
    prices: PriceSeries | None,
) -> Incentive:
    """The CER's incentive, from each plant's hourly shared energy [Wh] (``shared``) and its
    (plant_kw, pv) in ``plants``."""
    pz = hourly_zonal(prices, hours)
    reduce = 1 - settings.tip_reduction
    val = settings.valorisation_per_kwh
    notes = [f"TIP: {SOURCE}"]
    plant_tip = {k: Decimal(0) for k in plants}
    rates: list[Decimal] = []
    tip_total = val_total = Decimal(0)
    for h in range(len(hours)):
        s_wh = sum(shared[k][h] for k in plants)
        money = Decimal(0)
        for k, (kw, pv) in plants.items():
            tip = tip_eur_per_mwh(kw, pz[h], settings.pv_correction_eur_per_mwh if pv else Decimal(0))
            m = Decimal(shared[k][h]) * tip * reduce / 1_000_000
            plant_tip[k] += m
            money += m
        tip_total += money
        if val is not None:
            v = Decimal(s_wh) * val / 1000
            val_total += v
            money += v
        rates.append(money * 1000 / s_wh if s_wh else Decimal(0))
    missing = sum(1 for h in range(len(hours)) if pz[h] is None and any(shared[k][h] for k in plants))
    if missing:
        notes.append(
            f"no zonal price (EUR) for {missing} hour(s) with shared energy: the TIP's variable part "
            "(0-40 EUR/MWh) is left out there; the incentive shown is a lower bound"
        )
    if val is None:
        notes.append("valorisation_per_kwh not set: ARERA's valorisation of shared energy is left out")
    else:
        notes.append(f"valorisation {val} EUR/kWh ({settings.valorisation_source or 'source not given'})")
    if settings.tip_reduction:
        notes.append(f"TIP reduced by {settings.tip_reduction * 100}% (capital grant, as configured)")
    shared_wh = sum(sum(v) for v in shared.values())
    threshold = Decimal("0.45") if settings.capital_grant else Decimal("0.55")
    above = max(Decimal(0), Decimal(shared_wh) - threshold * injected_wh)
    earmarked = tip_total * above / shared_wh if shared_wh else Decimal(0)
    if earmarked:
        notes.append(
            f"{earmarked:.2f} EUR of the TIP is on shared energy above {threshold * 100:.0f}% of the energy "
            "injected: for non-business consumers or social purposes only (DM 414/2023 art. 3)"
        )
    return Incentive(rates, tip_total, val_total, plant_tip, earmarked, notes)
