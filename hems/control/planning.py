"""Planning, the part of `hems.control.core.Control` that turns requests into schedules.

A re-plan (`Planning._replan`) gathers the pending requests (an energy need cut to what it still
lacks, a program already running left as it is), the battery's charge, the prices, the base-load and
PV forecasts and the month's capacity peaks, runs the optimiser off the event loop, and issues a new
schedule version to each appliance whose plan changed. Re-plans are asked for by requests, new
prices, a battery's plan running out or drifting, and a measured import far from the plan's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hems.alerts.engine import AlertEngine, Condition
from hems.clock import Clock
from hems.control.book import ScheduleBook
from hems.control.config import ApplianceConfig
from hems.control.scenario import (
    SLOT_MINUTES,
    LoadFn,
    Planner,
    PriceFn,
    SiteFacts,
    battery_table,
    build_scenario,
    capacity_table,
    horizon_end,
    keep_running_slot,
    plan_document,
    planned_soc,
    power_at,
    remaining_requests,
    same_timeline,
    schedules_from_plan,
)
from hems.mqtt import topics
from hems.mqtt.payloads import Schedule
from hems.snapshot import Snapshot

log = logging.getLogger(__name__)


class Planning:
    """Mixed into `Control` (which sets these attributes)."""

    site: str
    clock: Clock
    engine: AlertEngine
    book: ScheduleBook
    appliances: dict[str, ApplianceConfig]
    site_facts: SiteFacts
    planner: Planner
    prices: PriceFn
    storage: Any
    base_load: LoadFn | None
    pv_forecast: LoadFn | None
    plan_timeout_s: float
    plan: dict[str, Any] | None
    plans_made: int
    replan_load_kw: float
    replan_after_s: float
    _dirty: bool
    _planned_at: datetime | None
    _kept: tuple[tuple[dict[str, Any], dict[str, Any]], datetime] | None
    _off_plan_since: datetime | None
    _send_schedule: Callable[[str, Schedule, datetime], None]
    _publish: Callable[..., None]
    _event: Callable[..., None]
    _guard: Callable[[Callable[[], object], str], None]
    request_replan: Callable[[str], None]

    # --- planning -------------------------------------------------------------------------------
    async def _replan(self, now: datetime) -> None:
        pending = self.book.pending(now)
        current = self.book.schedules()
        # a program that has started keeps its schedule, its power part of the picture ...
        committed = {  # ... unless the appliance has asked again since (a new request seq); an energy
            a: s  # need is planned again from what it still lacks (interruptible: nothing to commit)
            for a, s in current.items()
            if a in pending
            and pending[a].kind == "shiftable"
            and s.start
            and s.start <= now
            and s.seq == self.book.entries[a].last_seq
        }
        to_plan = remaining_requests({a: r for a, r in pending.items() if a not in committed}, self.book)
        battery = self._battery()
        if not to_plan and battery is None:
            # nothing new to plan: the last plan stays in force while it lasts (programs run it)
            kept = self._kept if self._kept is not None and self._kept[1] > now else None
            self._store_plan(now, *(kept[0] if kept else (None, None)))
            return
        try:
            capacity = capacity_table(self.engine.capacity, self.clock.now())
            scenario = build_scenario(
                now,
                to_plan,
                self.appliances,
                self.site_facts,
                self.prices,
                self.base_load,
                capacity,
                committed,
                pv=self.pv_forecast,
                battery=battery,
                until=self._prices_until(now),
            )
            plan = await asyncio.wait_for(
                asyncio.to_thread(self.planner, scenario, self.plan_timeout_s), self.plan_timeout_s + 10
            )
        except Exception as exc:
            log.exception("planning failed")
            self._event(now, "control.plan_failed", "warning", f"planning failed: {exc}")
            return
        fields = schedules_from_plan(plan, scenario, battery["id"] if battery is not None else None)
        # the box's own relays only: carried for every energy need, July seed 1 of `hems evaluate`
        # met a breaker warning when a shed EV restarted beside it (docs/control.md)
        relays = [a for a, r in to_plan.items() if r.kind == "energy" and self.appliances[a].kind == "relay"]
        keep_running_slot(fields, current, now, relays)
        still = self.book.pending(self.clock.now())  # an appliance may have left meanwhile
        planned = [*to_plan, *([battery["id"]] if battery is not None else [])]
        for aid in planned:
            if aid not in fields or (aid not in still and self.appliances[aid].kind != "battery"):
                continue
            old = self.book.schedules().get(aid)
            entry = self.book.entries[aid]
            if (
                old is not None
                and not entry.refused
                and old.seq == entry.last_seq
                and same_timeline(old, fields[aid])
            ):
                continue  # unchanged: no new version for the appliance to acknowledge
            schedule = self.book.issue(aid, fields[aid], self.clock.now())
            self._send_schedule(aid, schedule, self.clock.now())
        self.plans_made += 1
        self._planned_at = self.clock.now()
        self._kept = ((plan, scenario), horizon_end(scenario))
        self._store_plan(now, plan, scenario)

    def _battery(self) -> dict[str, Any] | None:
        """The scenario's battery: the first online battery appliance that reported its charge."""
        for aid, cfg in self.appliances.items():
            e = self.book.entries[aid]
            if cfg.kind == "battery" and e.online and e.state is not None and e.state.soc_kwh is not None:
                return battery_table(cfg, e.state.soc_kwh)
        return None

    def _prices_until(self, now: datetime) -> datetime:
        """How far a battery is planned: the end of tomorrow once its prices are out (13:00
        Brussels), else the end of today, and never less than 12 h."""
        from datetime import time, timedelta

        tz = ZoneInfo(self.site_facts.timezone)
        days = 2 if now.astimezone(ZoneInfo("Europe/Brussels")).hour >= 13 else 1
        end = datetime.combine(now.astimezone(tz).date() + timedelta(days=days), time(0), tz)
        return max(end, now + timedelta(hours=12))

    def _battery_due(self, now: datetime) -> None:
        """A battery's plan running out (within the hour), or its charge 1.5 kWh away from the plan's,
        asks for a new plan, at most every 15 min."""
        battery = self._battery()
        if battery is None:
            return
        s = self.book.schedules().get(battery["id"])
        ends = None if s is None else s.slot_start.timestamp() + 60 * s.slot_minutes * len(s.power_kw)
        recent = self._planned_at is not None and (now - self._planned_at).total_seconds() < 900
        if recent or self._dirty:
            return
        if ends is None or ends - now.timestamp() < 3600:
            self.request_replan("the battery's plan runs out")
            return
        expected = planned_soc((self.plan or {}).get("plan"), now)
        if expected is not None and abs(expected - battery["initial_kwh"]) > 1.5:
            self.request_replan(f"battery at {battery['initial_kwh']:.1f} kWh, planned {expected:.1f} kWh")

    def _store_plan(
        self, now: datetime, plan: dict[str, Any] | None, scenario: dict[str, Any] | None = None
    ) -> None:
        doc = plan_document(now, plan, self.book.schedules(), self.book.summary(), scenario)
        self.plan = doc
        if self.storage is not None:
            storage = self.storage
            # the newest plan, and the last plan of each local day (reports' savings over a month)
            day = now.astimezone(ZoneInfo(self.site_facts.timezone)).date().isoformat()
            self._guard(lambda: storage.put_doc("plan", doc, now), "store the plan")
            self._guard(lambda: storage.put_doc(f"plan.{day}", doc, now), "store the day's plan")
        self._publish(topics.plan(self.site), doc, qos=1, retain=True)

    def _check_load(self, snapshot: Snapshot) -> None:
        """Re-plan when the measured import stays far from the plan's import (the picture changed)."""
        plan = (self.plan or {}).get("plan")
        grid = snapshot.grid
        if not plan or grid is None or grid.p_import_w is None or not plan.get("slots"):
            return
        start = datetime.fromisoformat(plan["slots"][0])
        expected = power_at(start, SLOT_MINUTES, plan["grid"]["import_kw"], snapshot.time)
        now = snapshot.time
        if abs(grid.p_import_w / 1000.0 - expected) <= self.replan_load_kw:
            self._off_plan_since = None
            return
        since = self._off_plan_since = self._off_plan_since or now
        recent = (
            self._planned_at is not None and (now - self._planned_at).total_seconds() < self.replan_after_s
        )
        if (now - since).total_seconds() >= self.replan_after_s and not recent:
            self._off_plan_since = None
            self.request_replan(f"measured import {grid.p_import_w / 1000:.1f} kW, planned {expected:.1f} kW")

    def within_plan(self, conditions: Iterable[Condition], now: datetime) -> list[Condition]:
        """The alert conditions for the shedder: a capacity hour that the plan itself runs above the
        alert's limit (it priced the higher step and took it) asks only for what goes beyond the
        plan's hour, so shedding does not undo the plan: an EV held back now would have to catch up
        at full power later, in a worse hour. A breaker's is never weighed against a plan."""
        plan = (self.plan or {}).get("plan")
        out = []
        for c in conditions:
            if c.kind == "capacity" and c.shed_kw > 0 and plan and plan.get("slots"):
                end = datetime.fromisoformat(str(c.data["hour_start"])) + timedelta(hours=1)
                remaining_h = (end - now).total_seconds() / 3600.0
                t0 = datetime.fromisoformat(plan["slots"][0])
                planned = float(c.data["energy_so_far_kwh"])
                for i, kw in enumerate(plan["grid"]["import_kw"]):
                    a = max(t0 + timedelta(minutes=SLOT_MINUTES * i), now)
                    b = min(t0 + timedelta(minutes=SLOT_MINUTES * (i + 1)), end)
                    planned += float(kw) * max((b - a).total_seconds(), 0.0) / 3600.0
                if remaining_h > 0 and planned > float(c.data["limit_kwh"]):
                    shed = max(float(c.data["projected_kwh"]) - planned, 0.0) / remaining_h
                    c = replace(c, shed_kw=round(shed, 3))
            out.append(c)
        return out
