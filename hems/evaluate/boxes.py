"""The other strategies' "boxes": they answer the appliances' requests on the same bus, with the same
schedules on the wire, but decide differently (the appliances cannot tell).

- `rule`: the "cheapest hours" automation people build in Home Assistant: a program starts in the
  window's cheapest stretch by the spot price as published at the request, an energy need runs at
  full power in the window's cheapest quarter-hours; blind to fuses, capacity steps, PV and the
  other appliances. A battery is left in self-consumption.
- `oracle`: the whole period's plan made at once with perfect foresight of load, PV, prices and
  requests (one MILP, the same optimiser as the box's); each request is answered with its part.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from devices.appliances.device import Need
from devices.appliances.link import LocalBus
from hems.evaluate.physics import heat_pumps_on_their_own_kw
from hems.evaluate.world import SLOT_S, World, slot_means
from hems.mqtt import topics

#: the oracle's plan is proven within this share of its cost: 0.01 % of a month's bill is a few øre,
#: far below the savings it measures, and a tenth of that took the 30-day MILP up to four times as long
ORACLE_GAP = 1e-4

Fields = dict[str, Any]  #: a schedule's fields: start, slot_start, slot_minutes, power_kw


def _ceil_slot(t: datetime) -> datetime:
    ts = t.timestamp()
    return t + timedelta(seconds=(-ts) % SLOT_S)


def _floor_slot(t: datetime) -> datetime:
    return t - timedelta(seconds=t.timestamp() % SLOT_S)


class StrategyBox:
    """Answers each request on ``bus`` with ``decide(appliance, request, now)``'s schedule."""

    def __init__(
        self, bus: LocalBus, site: str, decide: Callable[[str, dict[str, Any], datetime], Fields | None]
    ):
        self.site = site
        self.decide = decide
        self.client = bus.client(f"{site}-strategy", will=(topics.status(site), b"offline", True))
        self.client.subscribe(topics.appliance_filter(site, "request"), no_local=True)
        self.client.publish(topics.status(site), b"online", retain=True)
        self.versions: dict[str, int] = {}

    def pending(self) -> bool:
        return bool(self.client.inbox)

    def handle(self, now: datetime) -> None:
        for msg in self.client.receive():
            parsed = topics.parse_appliance_topic(self.site, msg.topic)
            if parsed is None or parsed[1] != "request":
                continue
            aid, request = parsed[0], json.loads(msg.payload)
            fields = self.decide(aid, request, now)
            if fields is not None:
                self.send(aid, int(request["seq"]), fields, now)

    def send(self, aid: str, seq: int, fields: Fields, now: datetime) -> None:
        version = self.versions[aid] = self.versions.get(aid, 0) + 1
        start = fields.get("start")
        doc = {
            "version": version,
            "seq": seq,
            "issued": now.isoformat(),
            "start": start.isoformat() if start else None,
            "slot_start": fields["slot_start"].isoformat(),
            "slot_minutes": 15,
            "power_kw": [round(p, 4) for p in fields["power_kw"]],
        }
        self.client.publish(
            topics.appliance(self.site, aid, "schedule"), json.dumps(doc).encode(), retain=True
        )


# --- rule -------------------------------------------------------------------------------------------
def rule_decider(world: World) -> Callable[[str, dict[str, Any], datetime], Fields | None]:
    """The "cheapest hours" rule on the spot prices published at the request (see the module doc)."""

    def decide(aid: str, req: dict[str, Any], now: datetime) -> Fields | None:
        first = now.astimezone(world.tz).date()
        known = world.market.published(now, first)
        spot = dict(zip(known.slot_starts(), known.price_per_kwh, strict=True))
        lo = _ceil_slot(datetime.fromisoformat(req["earliest_start"]))
        hi = _floor_slot(datetime.fromisoformat(req["latest_end"]))
        step = timedelta(seconds=SLOT_S)
        window = []
        t = lo
        while t < hi:
            window.append(t)
            t += step
        if not window:
            return None
        if req["kind"] == "shiftable":
            n = len(req["profile_kw"])
            best: tuple[float, datetime] | None = None
            for i in range(len(window) - n + 1):
                run = window[i : i + n]
                if all(s in spot for s in run):
                    mean = sum(spot[s] for s in run) / n
                    if best is None or mean < best[0] - 1e-12:
                        best = (mean, run[0])
            start = best[1] if best else window[0]
            return {"start": start, "slot_start": start, "power_kw": list(req["profile_kw"])}
        max_kw, min_kw = float(req["max_kw"]), float(req.get("min_kw", 0.0))
        left = float(req["energy_kwh"])
        ranked = sorted((s for s in window if s in spot), key=lambda s: (spot[s], s))
        ranked += [s for s in window if s not in spot]  # beyond the published prices: last
        chosen: dict[datetime, float] = {}
        for s in ranked:
            if left <= 1e-9:
                break
            kw = min(max_kw, left / 0.25)
            kw = max(kw, min_kw)
            chosen[s] = kw
            left -= kw * 0.25
        power = [chosen.get(s, 0.0) for s in window]
        return {"start": None, "slot_start": window[0], "power_kw": power}

    return decide


# --- oracle -----------------------------------------------------------------------------------------
def oracle_scenario(world: World, needs: list[Need], battery: Any = None) -> dict[str, Any]:
    """The whole period as one scenario (docs/scenario-format.md), with everything known."""
    from tariffs.planning import capacity_table

    site = world.cfg.site
    slots = world.slots
    spot = world.spot()
    prices = world.tariff.slot_prices(slots, 15, spot)
    base = slot_means(world.base_total_w) / 1000.0 + 0.002  # + the two programs' standby
    base = base + heat_pumps_on_their_own_kw(world)  # on their own controllers: known in advance
    pv = slot_means(world.pv_w) / 1000.0
    lines = {c.id: c.line for c in world.circuits}
    device_line = {"dishwasher": lines["dishwasher"], "washer": lines["washer"], "ev": lines["ev-charger"]}
    device_line["water-heater"] = lines["water-heater"]
    sc: dict[str, Any] = {
        "horizon": {"start": slots[0].isoformat(), "slots": len(slots), "slot_minutes": 15},
        "site": {"timezone": site.timezone, "network": site.network, "voltage_v": site.voltage_v},
        "series": {
            "import_price_per_kwh": list(prices.import_per_kwh),
            "export_price_per_kwh": list(prices.export_per_kwh),
            "base_load_kw": [round(float(v), 5) for v in base],
            "pv_kw": [round(float(v), 5) for v in pv],
        },
        "appliance": [],
    }
    sc["site"]["main_fuse_a"] = site.main_fuse_a
    table, _ = capacity_table(world.tariff, world.days[0])
    if table is not None:  # a hair below each step's bound: a figure on a bound may bill the step above
        table["step_upper_kw"] = [b - 1e-3 for b in table["step_upper_kw"]]
        sc["capacity_tariff"] = table
    for k, need in enumerate(needs):
        item: dict[str, Any] = {
            "id": f"{need.appliance}#{k}",
            "kind": need.kind,
            "earliest_start": need.at.isoformat(),
            "latest_end": need.latest_end.isoformat(),
            "line": device_line[need.appliance],
        }
        if need.kind == "shiftable":
            item["profile_kw"] = need.profile_kw(15)
        else:
            item.update(energy_kwh=need.energy_kwh, min_kw=need.min_w / 1000.0, max_kw=need.max_w / 1000.0)
        sc["appliance"].append(item)
    if battery is not None:
        sc["battery"] = {
            "capacity_kwh": battery.capacity_kwh,
            "max_charge_kw": battery.power_kw,
            "max_discharge_kw": battery.power_kw,
            "efficiency": battery.efficiency,
            "initial_kwh": battery.capacity_kwh / 2,
            # left as found: every strategy's battery starts half full, and a lower bound that sold
            # its charge off on the period's last evening would be no bound for a box that keeps it
            # (measured: worth 3-6 NOK of a July month's ~100 NOK of savings)
            "final_min_kwh": battery.capacity_kwh / 2,
        }
    return sc


def solve_oracle(
    world: World, battery: Any = None, time_limit_s: float = 600.0
) -> tuple[dict[str, Any], Any]:
    """The oracle's plan: (per need key: schedule fields, and "battery"), and the optimiser's result."""
    from optimiser.plan import plan_scenario

    needs = world.needs
    scenario = oracle_scenario(world, needs, battery)
    result = plan_scenario(scenario, gap=ORACLE_GAP, time_limit=time_limit_s, source="<oracle>")
    t0 = world.slots[0]
    out: dict[str, Any] = {}
    apps = result.get("appliances") or {}
    for k, need in enumerate(needs):
        body = apps.get(f"{need.appliance}#{k}", {})
        start = datetime.fromisoformat(body["start"]) if body.get("start") else None
        out[need.key] = {"start": start, "slot_start": t0, "power_kw": list(body.get("power_kw", []))}
    if result.get("battery"):  # the battery aims at the planned grid exchange (docs/control.md)
        grid = result["grid"]
        power = [i - e for i, e in zip(grid["import_kw"], grid["export_kw"], strict=True)]
        out["battery"] = {"start": None, "slot_start": t0, "power_kw": power}
    return out, result


def oracle_decider(
    world: World, plan: dict[str, Any]
) -> Callable[[str, dict[str, Any], datetime], Fields | None]:
    """Answers a request with the oracle's schedule for the need it announces."""
    by_window = {(n.appliance, n.latest_end): n.key for n in world.needs}

    def decide(aid: str, req: dict[str, Any], now: datetime) -> Fields | None:
        key = by_window.get((aid, datetime.fromisoformat(req["latest_end"])))
        return plan.get(key) if key else None

    return decide


__all__ = ["StrategyBox", "oracle_decider", "oracle_scenario", "rule_decider", "solve_oracle"]


class SgReadyRule:
    """The `rule` strategy's SG Ready automation, as people build it in Home Assistant: the same
    choice as the box's driver (`choose_state`: boost in the day's cheapest hours, block in its
    dearest, within the household's comfort limits) but by the day-ahead spot price alone, switching
    the heat pump's two contacts directly at each quarter-hour."""

    def __init__(self, world: World, pumps: list[Any]) -> None:
        from devices.appliances.drivers.sgready import Comfort

        self.world = world
        options = {a.id: a.device for a in world.cfg.appliance if a.driver == "sg-ready"}
        self.pumps = [(p, Comfort.of(o)) for p in pumps if (o := options.get(p.id)) is not None]
        #: per pump: (blocked since, last block ended), as the box's driver keeps them
        self.blocks: dict[str, tuple[datetime | None, datetime | None]] = {
            p.id: (None, None) for p, _ in self.pumps
        }
        self._days: dict[Any, tuple[list[datetime], list[float]]] = {}

    def _day(self, day: Any) -> tuple[list[datetime], list[float]]:
        if day not in self._days:
            series = self.world.market.between(day, day)
            self._days[day] = (list(series.slot_starts()), list(series.price_per_kwh))
        return self._days[day]

    def apply(self, t: datetime) -> None:
        from devices.appliances.drivers.sgready import CONTACTS, block_clock, choose_state

        starts, prices = self._day(t.astimezone(self.world.tz).date())
        slot = _floor_slot(t)
        if slot not in starts:
            return
        for pump, comfort in self.pumps:
            since, last = self.blocks[pump.id]
            state = choose_state(
                prices, starts.index(slot), 15, comfort, since, last, t, self.world.outdoor_c(t)
            )
            self.blocks[pump.id] = block_clock(pump.sg_state, state, t, since, last)
            if state != pump.sg_state:  # opening first: between the two it passes through normal
                for contact, closed in sorted(zip("ab", CONTACTS[state], strict=True), key=lambda c: c[1]):
                    pump.set_contact(t, contact, closed)
