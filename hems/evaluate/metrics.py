"""What a strategy's run comes to: the bill (tariffs/, the same `cost` the reports use), the energy,
the capacity basis, PV self-consumption, the appliances' work and the overloads — the JSON of
`hems evaluate` (the contract in the loop issue, docs/evaluate.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np

from hems.evaluate.run import Outcome
from hems.evaluate.world import World, slot_means
from tariffs.cost import Bill, cost
from tariffs.series import EnergySeries


@dataclass
class Result:
    """One strategy's figures (``to_json`` is the contract's object)."""

    name: str
    bill: Bill
    currency: str
    import_kwh: float
    export_kwh: float
    capacity_basis_kw: float | None
    pv_self_consumption_share: float | None
    appliance_kwh_requested: float
    appliance_kwh_delivered: float
    runs_requested: int
    runs_completed: int
    deadlines_missed: int
    overload_events: int
    slot_import_kwh: np.ndarray
    daily_peak_kw: list[float]
    battery_kwh_end: float | None = None  #: what the battery holds at the period's end (starts half full)
    heat_pumps: dict[str, dict[str, Any]] | None = None  #: SG Ready heat pumps (`heat_pump_figures`)
    steps: int = 0
    fine_steps: int = 0
    plans: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "bill": {
                "energy": round(self.bill.energy_cost, 2),
                "capacity": round(self.bill.capacity_cost, 2),
                "fixed": round(self.bill.fixed_cost, 2),
                "total": round(self.bill.total, 2),
                "currency": self.currency,
            },
            "import_kwh": round(self.import_kwh, 2),
            "export_kwh": round(self.export_kwh, 2),
            "capacity_basis_kw": None if self.capacity_basis_kw is None else round(self.capacity_basis_kw, 3),
            "pv_self_consumption_share": None
            if self.pv_self_consumption_share is None
            else round(self.pv_self_consumption_share, 4),
            "appliance_kwh_requested": round(self.appliance_kwh_requested, 3),
            "appliance_kwh_delivered": round(self.appliance_kwh_delivered, 3),
            "runs_requested": self.runs_requested,
            "runs_completed": self.runs_completed,
            "deadlines_missed": self.deadlines_missed,
            "overload_events": self.overload_events,
            **({} if self.battery_kwh_end is None else {"battery_kwh_end": round(self.battery_kwh_end, 2)}),
            **({} if not self.heat_pumps else {"heat_pumps": self.heat_pumps}),
        }


def overload_events(alerts: list[tuple[Any, str, str]]) -> int:
    """Breaker warnings raised (an alert going from quiet to warning or critical counts once)."""
    active: set[str] = set()
    count = 0
    for _, key, level in sorted(alerts, key=lambda a: a[0]):
        if not key.startswith("breaker."):
            continue
        if level == "cleared":
            active.discard(key)
        elif key not in active:
            active.add(key)
            count += 1
    return count


def _work(world: World, outcome: Outcome) -> tuple[float, float, int, int, int]:
    """(kWh requested, kWh delivered, runs requested, runs completed, deadlines missed)."""
    requested = sum(n.energy_kwh for n in world.needs)
    delivered, completed, missed = 0.0, 0, 0
    done_keys = set()
    for d in outcome.twin.devices:
        for need, _start, end in getattr(d, "finished", []):
            delivered += need.energy_kwh
            completed += 1
            done_keys.add(need.key)
            missed += end > need.latest_end + timedelta(seconds=1)
        for need, wh, _done in getattr(d, "sessions", []):
            delivered += wh / 1000.0
            if wh >= need.energy_wh - 1.0:
                completed += 1
                done_keys.add(need.key)
            else:
                missed += 1
    missed += sum(1 for n in world.needs if n.key not in done_keys and n.kind == "shiftable")
    return requested, delivered, len(world.needs), completed, missed


def result(world: World, outcome: Outcome, seconds: float = 0.0) -> Result:
    twin = outcome.twin
    energy = EnergySeries(world.start, 15, tuple(twin.slot_import_kwh), tuple(twin.slot_export_kwh))
    bill = cost(world.tariff, energy, world.spot())
    figures = [m.capacity_figure for m in bill.months if m.capacity_figure is not None]
    pv = slot_means(world.pv_w) * 0.25 / 1000.0
    pv_kwh = float(pv.sum())
    share = None
    if pv_kwh > 0.01:
        pv_export = float(np.minimum(twin.slot_export_kwh, pv).sum())
        share = 1.0 - pv_export / pv_kwh
    requested, delivered, runs, completed, missed = _work(world, outcome)
    return Result(
        name=outcome.name,
        bill=bill,
        currency=world.tariff.currency,
        import_kwh=float(twin.slot_import_kwh.sum()),
        export_kwh=float(twin.slot_export_kwh.sum()),
        capacity_basis_kw=sum(figures) / len(figures) if figures else None,
        pv_self_consumption_share=share,
        appliance_kwh_requested=requested,
        appliance_kwh_delivered=delivered,
        runs_requested=runs,
        runs_completed=completed,
        deadlines_missed=missed,
        overload_events=overload_events(outcome.alerts),
        slot_import_kwh=twin.slot_import_kwh.copy(),
        daily_peak_kw=daily_peaks(world, twin.slot_import_kwh),
        battery_kwh_end=None if twin.battery is None else float(twin.battery.soc_kwh),
        heat_pumps=heat_pump_figures(world, outcome) or None,
        steps=outcome.steps,
        fine_steps=outcome.fine_steps,
        plans=outcome.plans,
        seconds=seconds,
    )


def heat_pump_figures(world: World, outcome: Outcome) -> dict[str, dict[str, Any]]:
    """Per SG Ready heat pump: its electricity [kWh], what that cost at each slot's import price
    (energy, grid energy part, taxes, VAT; the capacity step is the whole bill's, not shared out)
    [currency], the buffer tank's coldest temperature [°C], the hours in each SG state and the
    compressor's hours in each."""
    from devices.appliances.drivers.sgready import NAMES

    twin = outcome.twin
    if not twin.heat_pumps:
        return {}
    prices = np.asarray(world.tariff.slot_prices(world.slots, 15, world.spot()).import_per_kwh)
    out = {}
    for pump in twin.heat_pumps:
        kwh = twin.slot_device_kwh[pump.id]
        out[pump.id] = {
            "kwh": round(float(kwh.sum()), 2),
            "energy_cost": round(float(np.dot(kwh, prices)), 2),
            "coldest_tank_c": round(pump.coldest_c, 1),
            "hours_in_state": {NAMES[k]: round(v / 3600.0, 2) for k, v in sorted(pump.state_s.items())},
            "compressor_h": {NAMES[k]: round(v / 3600.0, 2) for k, v in sorted(pump.run_s.items())},
        }
    return out


def daily_peaks(world: World, slot_kwh: np.ndarray) -> list[float]:
    """Each local day's largest clock-hour import [kWh/h = kW]."""
    peaks: dict[Any, float] = {}
    hours: dict[Any, float] = {}
    for t, kwh in zip(world.slots, slot_kwh, strict=True):
        hour = t.replace(minute=0)
        hours[hour] = hours.get(hour, 0.0) + float(kwh)
    for hour, kwh in hours.items():
        day = hour.astimezone(world.tz).date()
        peaks[day] = max(peaks.get(day, 0.0), kwh)
    return [peaks.get(d, 0.0) for d in world.days]


def share_of_oracle_savings(results: dict[str, Result]) -> float | None:
    """hems's saving over ``none`` as a share of the oracle's (None without the three, or no saving)."""
    if not {"none", "hems", "oracle"} <= set(results):
        return None
    best = results["none"].bill.total - results["oracle"].bill.total
    if best <= 1e-9:
        return None
    return (results["none"].bill.total - results["hems"].bill.total) / best
