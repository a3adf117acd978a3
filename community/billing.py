"""A bill per participant: shared energy at the community price, the rest at their own tariff.

Per scheme (docs/community.md):

- ``fr`` (autoconsommation collective, Code de l'énergie L315-2): each consumer pays the energy
  allocated to them at the community price (to the producers, through the organiser) and the
  complement from the grid at their own tariff (`tariffs.cost.cost`: energy, capacity, fixed
  fees). Producers receive the community price for what was shared and ``surplus_price_per_kwh``
  for their surplus to the grid.
- ``no`` (deling av produksjon innenfor samme eiendom, RME's model since 1 October 2023): all
  production is distributed hour by hour; each participant is settled on consumption minus what
  they received, so their grid bill (`cost`) is on the remainder and what they received beyond
  their consumption is their export. What they pay the producer (the community price) is a private
  agreement; the producer sells nothing to the grid.
- ``it`` (CER): every kWh is still bought and sold as before; the GSE's incentive on the hourly
  shared energy (`community.italy`) is divided among the consumers by the allocation key, and
  ``producers_share`` of it among the plants by their shared energy.

Money: exact decimals per line, each line rounded to the cent (half to even); a bill's total is the
sum of its rounded lines. ``without community`` is the same consumption under the same tariff with
no sharing: the saving is the difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from community.allocation import Allocation, Rule, allocate
from community.conformity import OPERATOR, Checked
from community.italy import Incentive, hourly_zonal, incentive
from community.members import Members, Participant
from community.series import Period
from tariffs.cost import Bill, cost
from tariffs.household import HouseholdTariff, household_tariff
from tariffs.series import EnergySeries, PriceSeries
from tariffs.spot import to_currency

CENT = Decimal("0.01")
#: Norway's limit on the installed power sharing production within a property [kW]: 1 MW from
#: 1 Oct 2023 (RME, "Modell for deling av overskuddsproduksjon", 2023), 5 MW from 1 Jan 2026
#: (forskrift om kraftomsetning og nettjenester, amended; as summarised by Føyen, 2026).
NO_LIMIT_KW = ((date(2026, 1, 1), 5000.0), (date(2023, 10, 1), 1000.0))


def cents(x: Decimal | float) -> Decimal:
    return (x if isinstance(x, Decimal) else Decimal(repr(x))).quantize(CENT, rounding=ROUND_HALF_EVEN)


def kwh(wh: int) -> Decimal:
    return Decimal(wh) / 1000


@dataclass(frozen=True)
class Line:
    label: str
    amount: Decimal  #: [currency], positive: the participant pays; negative: receives
    kwh: Decimal | None = None
    price_per_kwh: Decimal | None = None


def priced(label: str, wh: int, price: Decimal, sign: int = 1) -> Line:
    """A line for ``wh`` at ``price`` per kWh; ``sign=-1`` for what the participant receives."""
    return Line(label, sign * cents(kwh(wh) * price), kwh(wh), price)


def at_rates(wh: list[int], rates: list[Decimal]) -> Decimal:
    """Money for energies [Wh per slot] at per-slot rates [currency/kWh], exact."""
    return sum((Decimal(w) / 1000 * r for w, r in zip(wh, rates, strict=True)), Decimal(0))


@dataclass
class ParticipantBill:
    id: str
    role: str
    energy_wh: dict[str, int]
    lines: list[Line] = field(default_factory=list)
    without_community: Decimal | None = None  #: the same consumption with no sharing [currency]
    grid: Bill | None = None  #: the grid supply's bill (per slot), from tariffs
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), Decimal(0))

    @property
    def saving(self) -> Decimal | None:
        return None if self.without_community is None else self.without_community - self.total


@dataclass
class CommunityBill:
    members: Members
    period: Period
    currency: str
    allocation: Allocation
    bills: dict[str, ParticipantBill]
    incentive: Incentive | None
    kept_by_community: Decimal  #: Italy: incentive not distributed (no one to give it to)
    notes: list[str]
    basis: dict[tuple[str, str], str]


def _spot(h: HouseholdTariff, prices: PriceSeries | None) -> tuple[PriceSeries | None, str | None]:
    if not h.config.spot:
        return None, None
    if prices is None:
        return None, "no spot prices given ([community] prices =): the spot part of this bill is 0"
    if prices.currency == h.currency:
        return prices, None
    if prices.currency == "EUR":
        return to_currency(prices, h.config.currency_per_eur, h.currency), (
            f"spot prices converted from EUR at {h.config.currency_per_eur} {h.currency}/EUR"
        )
    # a price_per_kwh CSV carries no currency: its prices are taken as the household's
    return PriceSeries(prices.start, prices.slot_minutes, prices.price_per_kwh, h.currency), None


def _series(alloc: Allocation, imports: list[int], exports: list[int] | None = None) -> EnergySeries:
    return EnergySeries(
        alloc.slots[0],
        alloc.slot_minutes,
        tuple(v / 1000 for v in imports),
        tuple(v / 1000 for v in exports) if exports else (),
    )


def _grid_lines(bill: Bill, currency: str) -> list[Line]:
    imp, exp = sum(bill.import_cost), sum(bill.export_revenue)
    lines = [Line("grid supply: energy at your tariff", cents(imp))]
    if exp:
        lines.append(Line("export at your tariff", -cents(exp)))
    if bill.capacity_cost:
        steps = ", ".join(f"{m.month}: {m.capacity_step}" for m in bill.months if m.capacity_step)
        lines.append(Line(f"grid capacity part ({steps})", cents(bill.capacity_cost)))
    if bill.fixed_cost:
        lines.append(Line("fixed fees", cents(bill.fixed_cost)))
    return lines


def _rule(members: Members) -> Rule:
    c = members.community
    consumers = [p for p in members.participant if p.consumes]
    return Rule(
        c.allocation_key,
        cap=c.scheme != "no",
        redistribute=c.redistribute,
        shares=tuple(Fraction(p.share) for p in consumers if p.share is not None),
        priorities=tuple(p.priority for p in consumers),
    )


def make_bills(
    members: Members, period: Period, checked: Checked, prices: PriceSeries | None
) -> CommunityBill:
    """Allocate and bill a month whose series all passed conformity (``checked.series``)."""
    c = members.community
    consumption = {p.id: checked.series[(p.id, "consumption")] for p in members.participant if p.consumes}
    injection = {p.id: checked.series[(p.id, "injection")] for p in members.participant if p.injects}
    alloc = allocate(
        _rule(members), period.start, c.slot_minutes, consumption, injection, virtual=c.scheme == "it"
    )
    broken = alloc.violations()
    if broken:  # cannot happen: a bug, never a bill
        raise RuntimeError("allocation does not add up: " + "; ".join(broken[:3]))
    notes: list[str] = []
    inc: Incentive | None = None
    if c.scheme == "it" and members.italy is not None:
        plants = {p.id: (float(p.plant_kw or 0), p.pv) for p in members.participant if p.injects}
        inc = incentive(
            members.italy,
            plants,
            alloc.producer_shared,
            sum(map(sum, alloc.injection.values())),
            alloc.slots,
            prices,
        )
        notes += inc.notes
    if c.scheme == "no":
        peak = sum(p.peak_kw or 0 for p in members.participant if p.injects)
        first_day = date.fromisoformat(f"{period.label}-01")
        limit = next((kw for since, kw in NO_LIMIT_KW if first_day >= since), NO_LIMIT_KW[-1][1])
        if peak > limit:
            notes.append(
                f"the producers' installed power {peak:g} kW exceeds the {limit:g} kW that may be shared"
            )
    currency = "NOK" if c.scheme == "no" else "EUR"
    bills: dict[str, ParticipantBill] = {}
    kept = Decimal(0)
    for p in members.participant:
        bills[p.id] = _participant(p, members, alloc, inc, prices, currency)
    if inc is not None:
        ps = members.italy.producers_share if members.italy else Decimal(0)
        kept = cents(at_rates(alloc.undistributed, inc.rate_per_kwh) * (1 - ps))
        if kept:
            notes.append(
                f"{kept} EUR of the incentive is not distributed by the key (consumers with share 0)"
            )
    for (pid, direction), basis in checked.basis.items():
        if pid in bills and basis != OPERATOR:
            bills[pid].notes.append(f"{direction}: billed on {basis}")
    return CommunityBill(members, period, currency, alloc, bills, inc, kept, notes, dict(checked.basis))


def _participant(
    p: Participant,
    members: Members,
    alloc: Allocation,
    inc: Incentive | None,
    prices: PriceSeries | None,
    currency: str,
) -> ParticipantBill:
    c = members.community
    price = c.price_per_kwh
    e: dict[str, int] = {}
    out = ParticipantBill(p.id, p.role, e)
    if p.consumes and p.tariff is not None:
        cons, shared = alloc.consumption[p.id], alloc.shared[p.id]
        e |= {
            "consumption_wh": sum(cons),
            "allocated_wh": sum(alloc.allocated[p.id]),
            "shared_wh": sum(shared),
            "grid_supply_wh": sum(alloc.grid_supply[p.id]),
            "export_wh": sum(alloc.export[p.id]),
        }
        try:
            h = household_tariff(p.tariff, country=c.country, tz=c.tz)
        except ValueError as exc:
            raise ValueError(f"participant {p.id}: tariff: {exc}") from None
        spot, note = _spot(h, prices)
        if note:
            out.notes.append(note)
        without = cost(h, _series(alloc, cons), spot)
        out.without_community = sum((ln.amount for ln in _grid_lines(without, currency)), Decimal(0))
        if alloc.virtual:
            out.grid = without
            out.lines += _grid_lines(without, currency)
            if inc is not None:
                share = 1 - (members.italy.producers_share if members.italy else Decimal(0))
                money = at_rates(alloc.allocated[p.id], inc.rate_per_kwh) * share
                label = "CER incentive: your share of the shared energy"
                out.lines.append(Line(label, -cents(money), kwh(e["allocated_wh"])))
        else:
            out.lines.append(priced("locally shared energy at the community price", e["shared_wh"], price))
            out.grid = cost(h, _series(alloc, alloc.grid_supply[p.id], alloc.export[p.id]), spot)
            out.lines += _grid_lines(out.grid, currency)
        out.notes += [n for n in out.grid.notes if n not in out.notes]
    if p.injects:
        _producer_lines(p, members, alloc, inc, prices, out)
    return out


def _producer_lines(
    p: Participant,
    members: Members,
    alloc: Allocation,
    inc: Incentive | None,
    prices: PriceSeries | None,
    out: ParticipantBill,
) -> None:
    c = members.community
    inj, shared, surplus = alloc.injection[p.id], alloc.producer_shared[p.id], alloc.producer_surplus[p.id]
    out.energy_wh |= {"injection_wh": sum(inj), "producer_shared_wh": sum(shared), "surplus_wh": sum(surplus)}
    if alloc.virtual:
        if c.surplus_price_per_kwh is not None:
            out.lines.append(priced("injection sold", sum(inj), c.surplus_price_per_kwh, -1))
        else:
            pz = hourly_zonal(prices, alloc.slots)
            known = [(wh, z) for wh, z in zip(inj, pz, strict=True) if z is not None]
            money = sum((Decimal(wh) * z / 1_000_000 for wh, z in known), Decimal(0))
            out.lines.append(Line("injection sold at the hourly zonal price", -cents(money), kwh(sum(inj))))
            if len(known) < len(inj) and sum(inj) != sum(wh for wh, _ in known):
                out.notes.append("no zonal price for some hours with injection: their sale is left out")
        if inc is not None and members.italy is not None and members.italy.producers_share:
            money = at_rates(shared, inc.rate_per_kwh) * members.italy.producers_share
            out.lines.append(Line("CER incentive: producers' share", -cents(money), kwh(sum(shared))))
        return
    out.lines.append(priced("energy shared in the community", sum(shared), c.price_per_kwh, -1))
    if c.scheme == "no" or not sum(surplus):
        return
    if c.surplus_price_per_kwh is None:
        out.notes.append("surplus_price_per_kwh not set: the sale of the surplus to the grid is left out")
        return
    out.lines.append(priced("surplus to the grid", sum(surplus), c.surplus_price_per_kwh, -1))
