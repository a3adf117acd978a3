"""The day-ahead plan as the dashboard shows it, parsed from the stored "plan" document.

Two shapes are read: the scenario-format "Output" itself (docs/scenario-format.md) and the control
loop's record, which wraps it as ``{"time", "status", "starts", ..., "plan": <output>}``. The
explanation is either a per-appliance ``"explanation"`` or the optimiser's top-level
``{"appliances": {...}, "text": ["<id>: ...", ...]}``; sentences that name no appliance are notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tui.model import array, mapping, num, parse_time


@dataclass(frozen=True, slots=True)
class PlannedRun:
    id: str
    start: datetime | None  #: a shiftable program's start
    power_kw: tuple[float, ...]  #: per slot [kW]
    explanation: str | None


@dataclass(frozen=True, slots=True)
class Plan:
    slots: tuple[datetime, ...]
    slot_hours: float
    status: str | None
    objective: float | None
    energy_cost: float | None
    capacity_cost: float | None
    price: tuple[float | None, ...]  #: import price per slot
    pv_kw: tuple[float | None, ...]
    import_kw: tuple[float | None, ...]
    runs: tuple[PlannedRun, ...]
    battery_kw: tuple[float, ...] | None  #: charge − discharge per slot [kW]
    soc_kwh: tuple[float | None, ...] | None
    notes: tuple[str, ...] = ()  #: explanation sentences about the whole plan (fuse, capacity)
    planned_at: datetime | None = None  #: when the control loop made it


def _floats(value: Any, n: int) -> tuple[float | None, ...]:
    items = value if isinstance(value, list) else []
    out = [float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None for v in items]
    return tuple((out + [None] * n)[:n])


def _explain(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _sentences(explanation: Any, ids: list[str]) -> tuple[dict[str, str], tuple[str, ...]]:
    """Split the optimiser's ``text`` into one sentence per appliance ("<id>: ...") and the rest."""
    per: dict[str, str] = {}
    notes: list[str] = []
    for line in array(explanation, "text"):
        if not isinstance(line, str):
            continue
        owner = next((i for i in ids if line.startswith(f"{i}: ")), None)
        if owner is None:
            notes.append(line)
        else:
            per[owner] = line[len(owner) + 2 :]
    return per, tuple(notes)


def parse_plan(doc: Any) -> Plan | None:
    """The plan in either stored shape, or None when there is none (or it is unusable)."""
    outer: dict[str, Any] = doc if isinstance(doc, dict) else {}
    inner: dict[str, Any] = mapping(outer, "plan") or outer
    raw_slots = array(inner, "slots")
    slots = tuple(t for t in (parse_time(s) for s in raw_slots) if t is not None)
    if not slots or len(slots) != len(raw_slots):
        return None
    n = len(slots)
    hours = (slots[1] - slots[0]).total_seconds() / 3600 if n > 1 else 0.25
    apps = {str(k): v for k, v in mapping(inner, "appliances").items() if isinstance(v, dict)}
    said, notes = _sentences(mapping(inner, "explanation"), sorted(apps, key=len, reverse=True))
    runs = tuple(
        PlannedRun(
            id=aid,
            start=parse_time(a.get("start")),
            power_kw=tuple(v or 0.0 for v in _floats(a.get("power_kw"), n)),
            explanation=_explain(a.get("explanation")) or said.get(aid),
        )
        for aid, a in apps.items()
    )
    bat = mapping(inner, "battery") or None
    battery = None
    if bat is not None:
        charge, discharge = _floats(bat.get("charge_kw"), n), _floats(bat.get("discharge_kw"), n)
        battery = tuple((c or 0.0) - (d or 0.0) for c, d in zip(charge, discharge, strict=True))
    status = inner.get("status") or outer.get("status")

    def series(key: str) -> tuple[float | None, ...]:
        return _floats(inner.get(key) if key in inner else outer.get(key), n)

    return Plan(
        slots=slots,
        slot_hours=hours,
        status=status if isinstance(status, str) else None,
        objective=num(inner, "objective"),
        energy_cost=num(inner, "energy_cost"),
        capacity_cost=num(inner, "capacity_cost"),
        price=series("import_price_per_kwh"),
        pv_kw=series("pv_kw"),
        import_kw=_floats(mapping(inner, "grid").get("import_kw"), n),
        runs=runs,
        battery_kw=battery,
        soc_kwh=_floats(bat.get("soc_kwh"), n) if bat is not None else None,
        notes=notes,
        planned_at=parse_time(outer.get("time")) if inner is not outer else None,
    )


def next_start(plan: Plan | None, now: datetime) -> tuple[str, datetime] | None:
    """The appliance whose planned run starts next after ``now``, and when."""
    if plan is None:
        return None
    found: list[tuple[datetime, str]] = []
    for run in plan.runs:
        p = run.power_kw
        starts = [  # where a run begins (off before, on now), not every slot it is on
            plan.slots[i]
            for i in range(len(p))
            if p[i] > 0 and (i == 0 or p[i - 1] <= 0) and plan.slots[i] > now
        ]
        if run.start is not None and run.start > now:
            starts.append(run.start)
        if starts:
            found.append((min(starts), run.id))
    if not found:
        return None
    when, which = min(found)
    return which, when
