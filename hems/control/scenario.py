"""The adapter between live requests and the optimiser: scenario dict in, schedules out.

`build_scenario` writes the structure of docs/scenario-format.md from the pending appliance requests,
per-slot prices, a base-load estimate and the month's capacity peaks; `schedules_from_plan` turns the
plan JSON back into each appliance's schedule fields. `default_planner` runs the optimiser in a
worker process (`optimiser.worker`: pyomo never enters the daemon); hems/control/inputs.py gathers
prices and loads.
"""

from __future__ import annotations

import calendar
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from hems.alerts.capacity import CapacityTracker, padded, step_index, top3_mean
from hems.control.config import ApplianceConfig
from hems.mqtt.payloads import ApplianceRequest, Schedule

log = logging.getLogger(__name__)

SLOT_MINUTES = 15
MAX_HORIZON = timedelta(hours=48)

#: (scenario dict, timeout [s]) → plan JSON; blocking, run off the event loop
Planner = Callable[[dict[str, Any], float], dict[str, Any]]
#: (UTC slot starts, slot minutes) → (import, export) prices per slot [currency/kWh]
PriceFn = Callable[[list[datetime], int], tuple[list[float], list[float]]]
#: (UTC slot starts, slot minutes) → non-controllable consumption per slot [kW]
LoadFn = Callable[[list[datetime], int], list[float]]


@dataclass(frozen=True, slots=True)
class SiteFacts:
    timezone: str = "Europe/Oslo"
    network: str = "TN"
    voltage_v: float = 230.0
    main_fuse_a: float | None = None


def _ceil(t: datetime, minutes: int) -> datetime:
    step = minutes * 60
    ts = math.ceil(t.timestamp() / step) * step
    return datetime.fromtimestamp(ts, t.tzinfo)


def slot_floor(t: datetime, minutes: int = SLOT_MINUTES) -> datetime:
    """The start of the ``minutes`` slot ``t`` falls in."""
    return t - timedelta(seconds=t.timestamp() % (minutes * 60))


def horizon(
    now: datetime, requests: dict[str, ApplianceRequest], until: datetime | None = None
) -> tuple[datetime, int]:
    """(start of slot 0, number of slots): from the next slot boundary to the last window's end
    (or ``until``, for a battery: the end of the known prices, when that is later)."""
    start = _ceil(now, SLOT_MINUTES)
    ends = [r.latest_end for r in requests.values() if r.latest_end is not None]
    if until is not None:
        ends.append(until)
    end = min(max(ends, default=start), start + MAX_HORIZON)
    slots = max(int((end - start).total_seconds() // (SLOT_MINUTES * 60)), 1)
    return start, slots


def horizon_end(scenario: dict[str, Any]) -> datetime:
    """The end of a scenario's horizon."""
    h = scenario["horizon"]
    return datetime.fromisoformat(h["start"]) + timedelta(minutes=int(h["slot_minutes"]) * int(h["slots"]))


def _profile(req: ApplianceRequest) -> list[float]:
    assert req.profile_kw is not None
    repeat = req.slot_minutes // SLOT_MINUTES
    return [p for p in req.profile_kw for _ in range(repeat)]


def build_scenario(
    now: datetime,
    requests: dict[str, ApplianceRequest],
    appliances: dict[str, ApplianceConfig],
    site: SiteFacts,
    prices: PriceFn,
    base_load: LoadFn | None = None,
    capacity: dict[str, Any] | None = None,
    committed: dict[str, Schedule] | None = None,
    pv: LoadFn | None = None,
    battery: dict[str, Any] | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """The scenario for the pending ``requests`` (see docs/scenario-format.md).

    ``committed``: programs already running (appliance id → its schedule), not moved any more: each
    is a ``started`` program on its own line (a single-phase dishwasher loads one line of the fuse,
    not a third of each as the base load would).
    ``pv``: the PV forecast; ``battery``: the scenario's ``[battery]`` table (with its ``id``);
    ``until``: plan at least this far (a battery's horizon).
    """
    start, n = horizon(now, requests, until if battery is not None else None)
    slots = [start + timedelta(minutes=SLOT_MINUTES * i) for i in range(n)]
    import_price, export_price = prices(slots, SLOT_MINUTES)
    base = base_load(slots, SLOT_MINUTES) if base_load else [0.0] * n
    sc: dict[str, Any] = {
        "horizon": {"start": start.isoformat(), "slots": n, "slot_minutes": SLOT_MINUTES},
        "site": {"timezone": site.timezone, "network": site.network, "voltage_v": site.voltage_v},
        "series": {
            "import_price_per_kwh": list(import_price),
            "export_price_per_kwh": list(export_price),
            "base_load_kw": list(base),
        },
        "appliance": [],
    }
    if pv is not None:
        sc["series"]["pv_kw"] = [max(v, 0.0) for v in pv(slots, SLOT_MINUTES)]
    if battery is not None:
        sc["battery"] = {k: v for k, v in battery.items() if k != "id"}
    if site.main_fuse_a is not None:
        sc["site"]["main_fuse_a"] = site.main_fuse_a
    if capacity is not None:
        sc["capacity_tariff"] = capacity
    for aid, schedule in sorted((committed or {}).items()):
        if (running := _running(aid, schedule, appliances[aid].line)) is not None:
            sc["appliance"].append(running)
    for aid, req in sorted(requests.items()):
        cfg = appliances[aid]
        assert req.earliest_start is not None and req.latest_end is not None
        if req.latest_end - max(req.earliest_start, start) < timedelta(minutes=SLOT_MINUTES):
            log.info("%s: less than a slot of its window is left: not planned", aid)
            continue  # the appliance finishes on its own (its last call)
        item: dict[str, Any] = {
            "id": aid,
            "kind": req.kind,
            "earliest_start": max(req.earliest_start, start).isoformat(),
            "latest_end": req.latest_end.isoformat(),
            "line": cfg.line,
        }
        if req.kind == "shiftable":
            item["profile_kw"] = _profile(req)
        else:
            item.update(energy_kwh=req.energy_kwh, min_kw=req.min_kw, max_kw=req.max_kw)
        sc["appliance"].append(item)
    return sc


def _running(aid: str, s: Schedule, line: str) -> dict[str, Any] | None:
    """The scenario's ``started`` program of a running schedule (None: nothing of it is left)."""
    if s.start is None:
        return None
    first = max(round((s.start - s.slot_start).total_seconds() / (60 * s.slot_minutes)), 0)
    profile = [max(float(p), 0.0) for p in s.power_kw[first:]]
    if not profile:
        return None
    begin = s.slot_start + timedelta(minutes=s.slot_minutes * first)
    if s.slot_minutes != SLOT_MINUTES:  # the plan's own resolution: resample the program's power
        step = timedelta(minutes=SLOT_MINUTES)
        count = math.ceil(len(profile) * s.slot_minutes / SLOT_MINUTES)
        profile = [power_at(s.slot_start, s.slot_minutes, s.power_kw, begin + k * step) for k in range(count)]
    end = begin + timedelta(minutes=SLOT_MINUTES * len(profile))
    return {
        "id": aid,
        "kind": "shiftable",
        "profile_kw": profile,
        "earliest_start": begin.isoformat(),
        "latest_end": end.isoformat(),
        "line": line,
        "started": begin.isoformat(),
    }


def remaining_requests(requests: dict[str, ApplianceRequest], book: Any) -> dict[str, ApplianceRequest]:
    """Energy requests cut to what the appliance says it still needs (``remaining_kwh`` on its
    ``state``; at least a slot at its least power); one that needs nothing more is left out."""
    out = {}
    for aid, req in requests.items():
        state = book.entries[aid].state
        left = None if state is None or req.kind != "energy" else state.remaining_kwh
        if left is not None and req.energy_kwh is not None:
            if left <= 0.01:
                continue
            # a remainder too small to plan at the least power for a whole slot is planned as that
            # slot's worth: the appliance stops when it has what it needs
            least = req.min_kw * SLOT_MINUTES / 60.0
            req = req.model_copy(update={"energy_kwh": min(req.energy_kwh, max(left, least))})
        out[aid] = req
    return out


def schedules_from_plan(
    plan: dict[str, Any], scenario: dict[str, Any], battery_id: str | None = None
) -> dict[str, dict[str, Any]]:
    """Schedule fields per appliance: ``start``, ``slot_start``, ``slot_minutes``, ``power_kw``.

    ``power_kw`` is cut after the last slot with power; ``start`` is the program's start (shiftable)
    or the first slot with power (None when nothing is planned).
    """
    h = scenario["horizon"]
    t0 = datetime.fromisoformat(h["start"])
    minutes = int(h["slot_minutes"])
    out: dict[str, dict[str, Any]] = {}
    for aid, body in (plan.get("appliances") or {}).items():
        power = [round(float(p), 4) for p in body.get("power_kw", [])]
        last = max((i for i, p in enumerate(power) if p > 1e-6), default=-1)
        power = power[: last + 1]
        if body.get("start"):
            start: datetime | None = datetime.fromisoformat(body["start"])
        else:
            first = next((i for i, p in enumerate(power) if p > 1e-6), None)
            start = None if first is None else t0 + timedelta(minutes=minutes * first)
        out[aid] = {"start": start, "slot_start": t0, "slot_minutes": minutes, "power_kw": power}
    bat, bat_id = plan.get("battery"), battery_id
    if bat and bat_id:  # a battery aims at the plan's grid exchange (import +, export −) all horizon
        grid = plan["grid"]
        power = [
            round(float(i) - float(e), 4) for i, e in zip(grid["import_kw"], grid["export_kw"], strict=True)
        ]
        charge, discharge = bat["charge_kw"], bat["discharge_kw"]
        own = [round(float(c) - float(d), 4) for c, d in zip(charge, discharge, strict=True)]
        out[bat_id] = {
            "start": t0,
            "slot_start": t0,
            "slot_minutes": minutes,
            "power_kw": power,
            "battery_kw": own,
        }
    return out


def keep_running_slot(
    fields: dict[str, dict[str, Any]], current: dict[str, Schedule], now: datetime, ids: list[str]
) -> None:
    """A plan made mid-slot starts at the next boundary: an appliance of ``ids`` that its old
    schedule runs now keeps that power for the rest of the slot (without it a relay was switched
    off for the minutes until the new plan's first slot, and on again)."""
    for aid in ids:
        f, old = fields.get(aid), current.get(aid)
        if f is None or old is None or f["slot_minutes"] != SLOT_MINUTES:
            continue
        begun = f["slot_start"] - timedelta(minutes=SLOT_MINUTES)
        if not begun < now < f["slot_start"]:
            continue
        kw = power_at(old.slot_start, old.slot_minutes, old.power_kw, now)
        if kw <= 1e-6:
            continue
        f.update(slot_start=begun, start=begun, power_kw=[round(kw, 4), *f["power_kw"]])


def planned_soc(plan: dict[str, Any] | None, t: datetime) -> float | None:
    """The battery's planned charge at ``t`` (the end of the slot before), from a plan's JSON [kWh]."""
    bat = (plan or {}).get("battery")
    slots = (plan or {}).get("slots") or []
    if not bat or not slots:
        return None
    t0 = datetime.fromisoformat(slots[0])
    i = math.floor((t - t0).total_seconds() / (SLOT_MINUTES * 60))
    soc = bat.get("soc_kwh") or []
    return float(soc[i - 1]) if 1 <= i <= len(soc) else None


def battery_table(cfg: ApplianceConfig, soc_kwh: float) -> dict[str, Any]:
    """The scenario's ``[battery]`` for a battery appliance at ``soc_kwh`` (plus its ``id``).

    Planned to end no lower than where it starts or half full, whichever is lower: what is stored
    now is not sold off for free at the horizon's end."""
    assert cfg.capacity_kwh is not None and cfg.power_kw is not None
    soc = min(max(soc_kwh, 0.0), cfg.capacity_kwh)
    return {
        "id": cfg.id,
        "capacity_kwh": cfg.capacity_kwh,
        "max_charge_kw": cfg.power_kw,
        "max_discharge_kw": cfg.power_kw,
        "efficiency": cfg.efficiency,
        "initial_kwh": round(soc, 4),
        "final_min_kwh": round(min(soc, cfg.capacity_kwh / 2), 4),
        "line": cfg.line,
    }


def same_timeline(schedule: Schedule, fields: dict[str, Any], tolerance_kw: float = 0.01) -> bool:
    """True when ``fields`` plan the same power at the same instants as ``schedule`` (no new version)."""

    def timeline(t0: datetime, minutes: int, power: list[float]) -> dict[datetime, float]:
        return {t0 + timedelta(minutes=minutes * i): p for i, p in enumerate(power) if abs(p) > tolerance_kw}

    a = timeline(schedule.slot_start, schedule.slot_minutes, schedule.power_kw)
    b = timeline(fields["slot_start"], fields["slot_minutes"], fields["power_kw"])
    return a.keys() == b.keys() and all(abs(a[t] - b[t]) <= tolerance_kw for t in a)


def power_at(schedule_start: datetime, slot_minutes: int, power_kw: list[float], t: datetime) -> float:
    """Planned power at instant ``t`` [kW] (0 outside the schedule)."""
    i = math.floor((t - schedule_start).total_seconds() / (slot_minutes * 60))
    return power_kw[i] if 0 <= i < len(power_kw) else 0.0


def default_planner(scenario: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """The optimiser in the daemon's warm worker process (pyomo never enters the daemon; the worker
    is replaced when it dies, overruns or grows: `optimiser.worker.PlanningWorker`)."""
    from optimiser.worker import shared_worker

    return shared_worker().plan(scenario, timeout_s)


def prewarm_planner() -> None:
    """Start the warm worker now, so the first plan does not wait for its imports."""
    from optimiser.worker import shared_worker

    shared_worker().start()


def flat_prices(price_per_kwh: float = 1.0) -> PriceFn:
    """A price function with one price everywhere (used when no tariff prices are available)."""

    def prices(slots: list[datetime], minutes: int) -> tuple[list[float], list[float]]:
        return [price_per_kwh] * len(slots), [0.0] * len(slots)

    return prices


#: within the month's present step the step's price rises in finer steps towards the next one, as a
#: straight line from the month's present figure to the step's bound would (at most this many)
FINE_STEPS = 4
#: the plan keeps the month's figure this far below each step's bound: forecasts err, and a figure a
#: hair over a bound costs the whole next step [kW]
CAPACITY_MARGIN_KW = 0.25


def capacity_table(tracker: CapacityTracker | None, now: datetime) -> dict[str, Any] | None:
    """The scenario's ``[capacity_tariff]`` from the alert engine's tracker (None without steps).

    The month's recorded peaks are padded in its first days (`padded`), and the step the month is
    in now is cut into finer steps (one per kW of the month's figure, at most `FINE_STEPS`) whose
    prices climb towards the next step's: the top-three rule makes one high day look free while the
    other days are low, but the days to come are not known, so the box prices a higher month figure
    as it would likely come to cost, and keeps its peaks down where that is cheap. For the same
    reason each planned day's peak counts three times (``peak_repeats``; fewer in the month's last
    two days): the days to come are taken to reach it too, so one high day is never free."""
    if tracker is None:
        return None
    proj = tracker.projection(now)
    today = now.astimezone(tracker.tz).date()
    month = (today.year, today.month)
    others = [v for d, v in tracker.daily_peaks.items() if (d.year, d.month) == month and d != today]
    today_peak = max(tracker.daily_peaks.get(today, 0.0), proj.energy_so_far_kwh if proj else 0.0)
    others = padded(others, today_peak)  # the month's first days: the missing ones like the worst
    bounds, prices = list(tracker.bounds), list(tracker.prices)
    repeats = min(3, days_left(today))
    # the month's figure as the plan counts it (today's peak so far repeated like every planned
    # day's): the steps are cut and shaved from there, so today's own peak never leaves the plan a
    # step it cannot keep (it would then give the whole step away)
    figure = top3_mean([*others, *[today_peak] * repeats])
    j = step_index(figure, bounds)
    if j < len(bounds):
        upper, gap = bounds[j], prices[j + 1] - prices[j]
        fine = [float(k) for k in range(math.floor(figure) + 1, math.ceil(upper))]
        if len(fine) > FINE_STEPS:
            fine = [fine[round(i * (len(fine) - 1) / (FINE_STEPS - 1))] for i in range(FINE_STEPS)]
        climb = [prices[j] + gap * (f - figure) / (upper - figure) for f in fine]
        bounds = bounds[:j] + fine + bounds[j:]
        prices = prices[: j + 1] + climb + prices[j + 1 :]
    # a margin below each bound ahead of the month's figure (no further down than the figure itself:
    # a figure exactly on a bound may bill the step above); bounds it is past stay as they are
    shaved: list[float] = []
    for b in bounds:
        bound = max(b - CAPACITY_MARGIN_KW, min(figure + 0.01, b)) if b > figure else b
        shaved.append(max(bound, shaved[-1]) if shaved else bound)
    return {
        "step_upper_kw": shaved,
        "step_price": prices,
        "month_peaks_kw": others,
        "today_peak_kw": today_peak,
        "peak_repeats": repeats,
    }


def days_left(day: date) -> int:
    """Days of ``day``'s month from ``day`` on (``day`` included)."""
    return calendar.monthrange(day.year, day.month)[1] - day.day + 1


def plan_document(
    now: datetime,
    plan: dict[str, Any] | None,
    schedules: dict[str, Schedule],
    book: dict[str, Any],
    scenario: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The plan document (``plan`` topic and storage doc): current schedules, the optimiser's plan and
    the price and PV series it was planned on (for the dashboard's time axis)."""
    starts = {aid: s.start for aid, s in schedules.items() if s.start is not None}
    upcoming = [t for t in starts.values() if t >= now]
    series = scenario.get("series", {}) if scenario else {}
    return {
        "import_price_per_kwh": series.get("import_price_per_kwh"),
        "pv_kw": series.get("pv_kw"),
        "time": now.isoformat(),
        "status": plan.get("status") if plan else "empty",
        "objective": plan.get("objective") if plan else None,
        "starts": {aid: t.isoformat() for aid, t in starts.items()},
        "next_start": min(upcoming).isoformat() if upcoming else None,
        "schedules": {aid: s.model_dump(mode="json") for aid, s in schedules.items()},
        "book": book,
        "plan": plan,
    }
