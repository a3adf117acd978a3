"""What the API returns about the household's data, built from the storage read API (no FastAPI here).

Every function reads through a read-only `hems.storage.Storage` (or the documents the daemon stored)
and returns plain JSON-ready values; `redact` keeps the meter's id and contact details out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hems.api.live import redact
from hems.reports.periods import local_midnight
from hems.storage import RESOLUTIONS
from hems.storage.channels import as_stored, unit_of

#: the longest span one series request may cover at each resolution (bounds memory and time)
MAX_SPAN = {
    "raw": timedelta(days=2),
    "1m": timedelta(days=14),
    "15m": timedelta(days=400),
    "1h": timedelta(days=3700),
    "1d": timedelta(days=36600),
}
ESPI_WINDOW = timedelta(hours=48)


class ViewError(ValueError):
    """A request the data cannot answer: ``status`` is the HTTP status (400 or 404)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def series_view(
    storage: Any, channel: str, start: datetime, end: datetime, resolution: str
) -> dict[str, Any]:
    """A channel's slots in [start, end) at ``resolution``: time (UTC slot start), mean/min/max, n."""
    if resolution not in RESOLUTIONS:
        raise ViewError(f"resolution: expected one of {', '.join(RESOLUTIONS)}, got {resolution!r}")
    if end <= start:
        raise ViewError("end must be after start")
    if end - start > MAX_SPAN[resolution]:
        raise ViewError(
            f"{resolution} series cover at most {MAX_SPAN[resolution].days} days per request; "
            "ask for a coarser resolution or a shorter span"
        )
    known = storage.channels()
    if channel not in known:
        raise ViewError(f"no channel {channel!r} (GET /api/v1/channels lists them)", 404)
    points = storage.series(channel, start, end, resolution)
    return {
        "channel": channel,
        "unit": unit_of(channel),
        "resolution": resolution,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "points": [
            {
                "time": p.time.isoformat(),
                "mean": as_stored(p.mean, channel),
                "min": as_stored(p.min, channel),
                "max": as_stored(p.max, channel),
                "n": p.n,
            }
            for p in points
        ],
    }


# ----- the plan and why ------------------------------------------------------------------------------
def _floats(value: Any) -> list[float | None]:
    if not isinstance(value, list):
        return []
    return [float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None for v in value]


def _d(obj: Any, key: str) -> dict[str, Any]:
    v = obj.get(key) if isinstance(obj, dict) else None
    return v if isinstance(v, dict) else {}


def plan_view(doc: Any) -> dict[str, Any]:
    """The newest plan: per appliance when it runs and why, the notes on the whole plan (fuse,
    capacity), and the price, PV and import series it was planned on."""
    if not isinstance(doc, dict):
        return {"status": None, "note": "no plan yet", "runs": [], "notes": [], "slots": []}
    inner = _d(doc, "plan") or (doc if "slots" in doc else {})
    explanation = _d(inner, "explanation") or _d(doc, "explanation")
    slots = [s for s in inner.get("slots", []) if isinstance(s, str)]
    step = timedelta(minutes=15)
    if len(slots) > 1:
        step = datetime.fromisoformat(slots[1]) - datetime.fromisoformat(slots[0])
    apps = {str(k): v for k, v in _d(inner, "appliances").items() if isinstance(v, dict)}
    ids = sorted(apps, key=len, reverse=True)
    sentences: dict[str, str] = {}
    notes: list[str] = []
    for line in explanation.get("text", []) if isinstance(explanation.get("text"), list) else []:
        owner = next((i for i in ids if isinstance(line, str) and line.startswith(f"{i}: ")), None)
        if owner is None:
            notes.append(str(line))
        else:
            sentences[owner] = line[len(owner) + 2 :]
    runs = []
    for aid in sorted(apps):
        a = apps[aid]
        power = _floats(a.get("power_kw"))
        on = [i for i, p in enumerate(power) if p and p > 0 and i < len(slots)]
        why = a.get("explanation") if isinstance(a.get("explanation"), str) else sentences.get(aid)
        runs.append(
            {
                "appliance": aid,
                "start": a.get("start") or (slots[on[0]] if on else None),
                "end": (datetime.fromisoformat(slots[on[-1]]) + step).isoformat() if on else None,
                "energy_kwh": round(sum(p or 0.0 for p in power) * step.total_seconds() / 3600, 3),
                "continuous": bool(on) and on[-1] - on[0] + 1 == len(on),  #: one block, or in parts
                "why": why,
                "detail": _d(_d(explanation, "appliances"), aid) or None,
            }
        )
    grid = _d(inner, "grid")
    return redact(
        {
            "status": inner.get("status") or doc.get("status"),
            "planned_at": doc.get("time"),
            "objective": inner.get("objective", doc.get("objective")),
            "energy_cost": inner.get("energy_cost"),
            "capacity_cost": inner.get("capacity_cost"),
            "next_start": doc.get("next_start"),
            "starts": _d(doc, "starts"),
            "runs": runs,
            "notes": notes,
            "limits": _d(explanation, "limits") or None,
            "slots": slots,
            "import_price_per_kwh": _floats(
                inner.get("import_price_per_kwh", doc.get("import_price_per_kwh"))
            ),
            "pv_kw": _floats(inner.get("pv_kw", doc.get("pv_kw"))),
            "import_kw": _floats(grid.get("import_kw")),
            "schedules": _d(doc, "schedules"),
        }
    )


def appliance_view(
    appliance: str, state: dict[str, Any] | None, plan_doc: Any, known: Iterable[str]
) -> dict[str, Any]:
    """One appliance's own schedule and state (what an appliance token may see, nothing else)."""
    plan = plan_view(plan_doc)
    run = next((r for r in plan["runs"] if r["appliance"] == appliance), None)
    live = _d(_d(state, "appliances"), appliance) or None
    schedule = _d(plan_doc, "schedules").get(appliance) if isinstance(plan_doc, dict) else None
    if appliance not in set(known) and live is None and run is None and schedule is None:
        raise ViewError(f"no appliance {appliance!r}", 404)
    control = _d(state, "control")
    return redact(
        {
            "appliance": appliance,
            "state": live,
            "paused": appliance in (control.get("shed") or []),
            "schedule": schedule,
            "planned_start": _d(control, "starts").get(appliance) or plan["starts"].get(appliance),
            "planned_run": run,
        }
    )


# ----- alerts ----------------------------------------------------------------------------------------
def alerts_view(storage: Any, state: dict[str, Any] | None, now: datetime, hours: float) -> dict[str, Any]:
    """The alerts active now (from the live state) and the alerts and actions logged in the last
    ``hours``."""
    events = storage.events(now - timedelta(hours=hours), now + timedelta(seconds=1))
    active = state.get("alerts") if isinstance(state, dict) and isinstance(state.get("alerts"), list) else []
    return redact(
        {
            "active": active,
            "events": [
                {
                    "time": e.time.isoformat(),
                    "kind": e.kind,
                    "level": e.level,
                    "message": e.message,
                    "data": e.data,
                }
                for e in events
                if e.kind.startswith(("alert", "control", "action"))
            ],
            "since": (now - timedelta(hours=hours)).isoformat(),
        }
    )


# ----- the last 48 hours as Green Button (ESPI) ------------------------------------------------------
class _Window:
    """A storage reader clipped to [start, end): the ESPI feed holds exactly the last 48 hours."""

    def __init__(self, storage: Any, start: datetime, end: datetime) -> None:
        self._st, self.start, self.end = storage, start, end

    def series(self, channel: str, start: datetime, end: datetime, resolution: str = "raw") -> Any:
        s, e = max(start, self.start), min(end, self.end)
        return self._st.series(channel, s, e, resolution) if s < e else []

    def channels(self) -> list[str]:
        return list(self._st.channels())

    def get_doc(self, key: str) -> Any:
        return self._st.get_doc(key)


def espi_recent(storage: Any, now: datetime, tz: ZoneInfo, resolution: str = "15m") -> bytes:
    """OpenSEG's 48-hour cache: the grid import and export energy of the last 48 hours (whole slots
    of ``resolution``) as a Green Button ESPI feed."""
    from hems.reports.export import ESPI_RESOLUTIONS, SLOT_SECONDS, export_espi

    if resolution not in ESPI_RESOLUTIONS or resolution == "1d":
        raise ViewError("resolution: the 48-hour feed is at 15m or 1h")
    step = SLOT_SECONDS[resolution]
    end = datetime.fromtimestamp(now.timestamp() - now.timestamp() % step, now.tzinfo)
    start = end - ESPI_WINDOW
    known = storage.channels()
    channels = [c for c in ("grid.p_import_w", "grid.p_export_w") if c in known]
    if not channels:
        raise ViewError("no grid import or export stored yet", 404)
    window = _Window(storage, start, end)
    first, last = start.astimezone(tz).date(), (end - timedelta(seconds=1)).astimezone(tz).date()
    return export_espi(window, channels, resolution, first, last, tz, now)


# ----- the month ---------------------------------------------------------------------------------------
def month_view(
    storage: Any, day: date, tz: ZoneInfo, tariff: Any, steps: tuple[list[float], list[float]] | None
) -> dict[str, Any]:
    """The month holding local ``day`` so far: energy per day, the three largest daily peaks and the
    capacity step they put the month on, the cost (with the tariff) and the step table."""
    from hems.reports import build_report

    report = build_report(storage, "month", day, tz, tariff=tariff).to_dict()
    out: dict[str, Any] = {
        "month": f"{day:%Y-%m}",
        "until": day.isoformat(),
        "house": report["house"],
        "coverage": report["coverage"],
        "days": report["days"],
        "peak_hours": report["peak_hours"],
        "capacity_basis_kw": report["capacity_basis_kw"],
        "cost": report.get("cost"),
        "savings": report.get("savings"),
        "steps": None,
        "step": None,
    }
    if steps is not None:
        bounds, prices = steps
        out["steps"] = [
            {"upper_kw": bounds[i] if i < len(bounds) else None, "price_per_month": prices[i]}
            for i in range(len(prices))
        ]
        basis = report["capacity_basis_kw"]
        if basis is not None:
            i = next((k for k, b in enumerate(bounds) if basis <= b), len(bounds))
            out["step"] = {
                "index": i,
                "upper_kw": bounds[i] if i < len(bounds) else None,
                "price_per_month": prices[i],
                "headroom_kw": round(bounds[i] - basis, 3) if i < len(bounds) else None,
            }
    if tariff is None:
        out["cost_note"] = "no [tariff] cost model: cost left out"
    return out


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
