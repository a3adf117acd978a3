"""Energy flow allocation: which source covered each circuit's consumption, slot by slot.

The rule (documented in docs/reports.md), for one slot with energies [kWh] PV production ``pv``,
grid import ``imp``, grid export ``exp``, battery charge ``chg`` and discharge ``dis`` (from
``battery.p_w``, charge positive):

1. Export is served by PV first, then by the battery: ``pv_exp = min(exp, pv)``,
   ``bat_exp = min(exp - pv_exp, dis)``.
2. Battery charging is served by the PV left over, then by the grid:
   ``pv_chg = min(chg, pv - pv_exp)``, ``grid_chg = min(chg - pv_chg, imp)``.
3. What is left of each source feeds the house's loads:
   ``pv_load = pv - pv_exp - pv_chg``, ``bat_load = dis - bat_exp``, ``grid_load = imp - grid_chg``,
   and the house consumption is their sum.
4. Every load in the slot draws from the three sources **in the same proportion** (the house is one
   node; electrons are not labelled), so circuit ``c`` with energy ``e_c`` gets
   ``e_c * pv_load / load`` from PV, and likewise for battery and grid. The part of the house's
   consumption not metered by any circuit is reported as ``other``.

Per-circuit shares therefore always add up to the circuit's energy, and the PV part summed over the
house equals the PV self-consumed by loads. Pure functions; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SlotFlows:
    """Where one slot's energy went [kWh]."""

    pv_export: float
    battery_export: float
    pv_to_battery: float
    grid_to_battery: float
    pv_load: float
    battery_load: float
    grid_load: float

    @property
    def load(self) -> float:
        """House consumption served in the slot [kWh]."""
        return self.pv_load + self.battery_load + self.grid_load

    def shares(self) -> tuple[float, float, float]:
        """Fractions of the load served by PV, battery and grid (0, 0, 1 when there is no load)."""
        total = self.load
        if total <= 0:
            return 0.0, 0.0, 1.0
        return self.pv_load / total, self.battery_load / total, self.grid_load / total


def slot_flows(pv: float, imp: float, exp: float, chg: float = 0.0, dis: float = 0.0) -> SlotFlows:
    """Split one slot's energies [kWh] by the rule above. Negative inputs are treated as 0."""
    pv, imp, exp, chg, dis = (max(x, 0.0) for x in (pv, imp, exp, chg, dis))
    pv_exp = min(exp, pv)
    bat_exp = min(exp - pv_exp, dis)
    pv_chg = min(chg, pv - pv_exp)
    grid_chg = min(chg - pv_chg, imp)
    return SlotFlows(
        pv_export=pv_exp,
        battery_export=bat_exp,
        pv_to_battery=pv_chg,
        grid_to_battery=grid_chg,
        pv_load=pv - pv_exp - pv_chg,
        battery_load=dis - bat_exp,
        grid_load=imp - grid_chg,
    )


@dataclass
class Allocation:
    """Energy of one consumer split by source [kWh], summed over slots."""

    kwh: float = 0.0
    from_pv_kwh: float = 0.0
    from_battery_kwh: float = 0.0
    from_grid_kwh: float = 0.0

    def add(self, kwh: float, shares: tuple[float, float, float]) -> None:
        self.kwh += kwh
        self.from_pv_kwh += kwh * shares[0]
        self.from_battery_kwh += kwh * shares[1]
        self.from_grid_kwh += kwh * shares[2]

    @property
    def self_consumption_share(self) -> float | None:
        """Share of this consumer's energy that came from the household's own PV and battery."""
        if self.kwh < 1e-6:
            return None
        return (self.from_pv_kwh + self.from_battery_kwh) / self.kwh

    def to_dict(self) -> dict[str, float | None]:
        share = self.self_consumption_share
        return {
            "kwh": round(self.kwh, 4),
            "from_pv_kwh": round(self.from_pv_kwh, 4),
            "from_battery_kwh": round(self.from_battery_kwh, 4),
            "from_grid_kwh": round(self.from_grid_kwh, 4),
            "self_consumption_share": None if share is None else round(share, 4),
        }


@dataclass
class FlowTotals:
    """Whole-house flows and per-consumer allocations over many slots [kWh]."""

    house: Allocation = field(default_factory=Allocation)
    consumers: dict[str, Allocation] = field(default_factory=dict)
    other: Allocation = field(default_factory=Allocation)  #: consumption no circuit meters
    pv_export_kwh: float = 0.0
    battery_export_kwh: float = 0.0
    pv_to_battery_kwh: float = 0.0
    grid_to_battery_kwh: float = 0.0

    def add_slot(self, flows: SlotFlows, consumers: Mapping[str, float]) -> None:
        """Allocate one slot: ``consumers`` maps circuit id → its energy in the slot [kWh]."""
        shares = flows.shares()
        self.house.kwh += flows.load
        self.house.from_pv_kwh += flows.pv_load
        self.house.from_battery_kwh += flows.battery_load
        self.house.from_grid_kwh += flows.grid_load
        metered = 0.0
        for name, kwh in consumers.items():
            kwh = max(kwh, 0.0)
            self.consumers.setdefault(name, Allocation()).add(kwh, shares)
            metered += kwh
        self.other.add(max(flows.load - metered, 0.0), shares)
        self.pv_export_kwh += flows.pv_export
        self.battery_export_kwh += flows.battery_export
        self.pv_to_battery_kwh += flows.pv_to_battery
        self.grid_to_battery_kwh += flows.grid_to_battery
