"""`build_report`: what a day, week or month of stored data adds up to.

Everything is computed from the 15-minute rollups (``mean * 0.25 h / 1000`` = kWh of a slot), so a
report equals the raw samples it summarises whenever the slots are fully sampled; ``coverage``
says how many slots had grid readings at all. Nothing here is a cost model: costs come from
tariffs/ (see `hems.reports.costs`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from hems.reports.flows import Allocation, FlowTotals, slot_flows
from hems.reports.periods import Span, span

SLOT = timedelta(minutes=15)
SLOT_H = 0.25  #: length of a rollup slot [h]


class PointLike(Protocol):
    @property
    def time(self) -> datetime: ...
    @property
    def mean(self) -> float: ...
    @property
    def n(self) -> int: ...


class StorageReader(Protocol):
    """The part of hems.storage.Storage that reports and telemetry read."""

    def series(self, channel: str, start: datetime, end: datetime, resolution: str = ...) -> Any: ...
    def channels(self) -> list[str]: ...
    def get_doc(self, key: str) -> Any: ...


@dataclass(frozen=True)
class PeakHour:
    start: datetime  #: UTC start of the hour
    kwh: float  #: grid import in that hour [kWh] (= mean power [kW])


@dataclass(frozen=True)
class DayTotals:
    day: date
    import_kwh: float
    export_kwh: float
    pv_kwh: float
    consumption_kwh: float
    peak_import_kwh: float  #: the day's largest hourly import [kWh/h]


@dataclass
class Report:
    """A period's totals [kWh]; see `to_dict` for the JSON form."""

    span: Span
    slots_expected: int
    slots_with_grid: int
    import_kwh: float = 0.0
    export_kwh: float = 0.0
    pv_kwh: float = 0.0
    battery_charge_kwh: float = 0.0
    battery_discharge_kwh: float = 0.0
    flows: FlowTotals = field(default_factory=FlowTotals)
    appliances: dict[str, Allocation] = field(default_factory=dict)  #: same split as circuits
    days: list[DayTotals] = field(default_factory=list)
    hourly_import: list[PeakHour] = field(default_factory=list)  #: every hour of the period
    peak_hours: list[PeakHour] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)  #: cost, savings, pv_forecast (optional)
    slot_import: dict[datetime, float] = field(default_factory=dict, repr=False)  #: [kWh] per slot
    slot_export: dict[datetime, float] = field(default_factory=dict, repr=False)  #: [kWh] per slot
    slot_pv: dict[datetime, float] = field(default_factory=dict, repr=False)  #: [kWh] per slot
    #: per slot, the grid energy each consumer drew (circuit ids, and "other") [kWh]
    slot_grid_use: dict[datetime, dict[str, float]] = field(default_factory=dict, repr=False)

    @property
    def consumption_kwh(self) -> float:
        """House consumption: import + PV + battery discharge − export − battery charge [kWh]."""
        return self.flows.house.kwh

    @property
    def pv_self_consumed_kwh(self) -> float:
        """PV not exported: used by loads or stored in the battery [kWh]."""
        return self.pv_kwh - self.flows.pv_export_kwh

    @property
    def capacity_basis_kw(self) -> float | None:
        """Mean of the peak hours (the Norwegian capacity-step figure for a month) [kW]."""
        if not self.peak_hours:
            return None
        return sum(p.kwh for p in self.peak_hours) / len(self.peak_hours)

    @property
    def coverage(self) -> float:
        return self.slots_with_grid / self.slots_expected if self.slots_expected else 0.0

    def to_dict(self) -> dict[str, Any]:
        tz = self.span.tz
        self_share = self.flows.house.self_consumption_share
        basis = self.capacity_basis_kw
        return {
            "period": self.span.period,
            "label": self.span.label,
            "first_day": self.span.first.isoformat(),
            "last_day": self.span.last.isoformat(),
            "timezone": str(tz),
            "start": self.span.start.isoformat(),
            "end": self.span.end.isoformat(),
            "coverage": round(self.coverage, 4),
            "house": {
                "import_kwh": _r(self.import_kwh),
                "export_kwh": _r(self.export_kwh),
                "pv_kwh": _r(self.pv_kwh),
                "pv_self_consumed_kwh": _r(self.pv_self_consumed_kwh),
                "battery_charge_kwh": _r(self.battery_charge_kwh),
                "battery_discharge_kwh": _r(self.battery_discharge_kwh),
                "consumption_kwh": _r(self.consumption_kwh),
                "self_sufficiency": None if self_share is None else round(self_share, 4),
            },
            "peak_hours": [
                {"start": p.start.astimezone(tz).isoformat(), "import_kwh": _r(p.kwh)}
                for p in self.peak_hours
            ],
            "capacity_basis_kw": None if basis is None else _r(basis),
            "circuits": {name: a.to_dict() for name, a in sorted(self.flows.consumers.items())},
            "other": self.flows.other.to_dict(),
            "appliances": {name: a.to_dict() for name, a in sorted(self.appliances.items())},
            "days": [
                {
                    "day": d.day.isoformat(),
                    "import_kwh": _r(d.import_kwh),
                    "export_kwh": _r(d.export_kwh),
                    "pv_kwh": _r(d.pv_kwh),
                    "consumption_kwh": _r(d.consumption_kwh),
                    "peak_import_kwh": _r(d.peak_import_kwh),
                }
                for d in self.days
            ],
            **self.extras,
        }


def _r(x: float) -> float:
    return round(x, 4)


def slot_kwh(points: Iterable[PointLike]) -> dict[datetime, float]:
    """Energy of each 15-min slot from a power series' rollup points [W → kWh]."""
    return {p.time: p.mean * SLOT_H / 1000.0 for p in points}


def _channel_kwh(storage: StorageReader, channel: str, sp: Span) -> dict[datetime, float]:
    return slot_kwh(storage.series(channel, sp.start, sp.end, "15m"))


def build_report(
    storage: StorageReader, period: str, day: date, tz: str | ZoneInfo, tariff: Any = None
) -> Report:
    """The report of the ``period`` ("day", "week", "month") containing local ``day``.

    ``tariff``: a `tariffs.household.HouseholdTariff`; when given, the report gets a ``cost``
    section computed by `tariffs.cost.cost` (the same prices the optimiser uses), with spot prices
    from the database's price cache (never fetched here).
    """
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    sp = span(period, day, zone)
    channels = set(storage.channels())
    imp = _channel_kwh(storage, "grid.p_import_w", sp)
    exp = _channel_kwh(storage, "grid.p_export_w", sp)
    pv = _channel_kwh(storage, "pv.p_w", sp) if "pv.p_w" in channels else {}
    bat = _channel_kwh(storage, "battery.p_w", sp) if "battery.p_w" in channels else {}
    circuits = {
        c.split(".")[1]: _channel_kwh(storage, c, sp)
        for c in sorted(channels)
        if c.startswith("circuit.") and c.endswith(".p_w") and c.count(".") == 2
    }
    appliances = {
        c.split(".")[1]: _channel_kwh(storage, c, sp)
        for c in sorted(channels)
        if c.startswith("appliance.") and c.endswith(".p_w") and c.count(".") == 2
    }
    slots = int((sp.end - sp.start) / SLOT)
    report = Report(span=sp, slots_expected=slots, slots_with_grid=len(imp.keys() | exp.keys()))
    report.appliances = {name: Allocation() for name in appliances}
    report.slot_import, report.slot_export, report.slot_pv = imp, exp, pv
    per_day: dict[date, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    hourly: dict[datetime, float] = defaultdict(float)
    times = sorted(
        imp.keys()
        | exp.keys()
        | pv.keys()
        | bat.keys()
        | {t for c in circuits.values() for t in c}
        | {t for a in appliances.values() for t in a}
    )
    for t in times:
        i, e, p, b = imp.get(t, 0.0), exp.get(t, 0.0), max(pv.get(t, 0.0), 0.0), bat.get(t, 0.0)
        flows = slot_flows(p, i, e, chg=max(b, 0.0), dis=max(-b, 0.0))
        use = {name: c[t] for name, c in circuits.items() if t in c}
        report.flows.add_slot(flows, use)
        for name, a in appliances.items():
            if t in a:
                report.appliances[name].add(max(a[t], 0.0), flows.shares())
        grid_share = flows.shares()[2]
        other = max(flows.load - sum(max(v, 0.0) for v in use.values()), 0.0)
        report.slot_grid_use[t] = {
            **{name: max(kwh, 0.0) * grid_share for name, kwh in use.items()},
            "other": other * grid_share,
        }
        report.import_kwh += i
        report.export_kwh += e
        report.pv_kwh += p
        report.battery_charge_kwh += max(b, 0.0)
        report.battery_discharge_kwh += max(-b, 0.0)
        d = per_day[t.astimezone(zone).date()]
        d[0] += i
        d[1] += e
        d[2] += p
        d[3] += flows.load
        hourly[t.replace(minute=0)] += i
    report.hourly_import = [PeakHour(t, kwh) for t, kwh in sorted(hourly.items())]
    day_peaks = _daily_peaks(report.hourly_import, zone)
    report.days = [
        DayTotals(
            d,
            per_day[d][0],
            per_day[d][1],
            per_day[d][2],
            per_day[d][3],
            day_peaks[d].kwh if d in day_peaks else 0.0,
        )
        for d in sp.days()
        if d in per_day
    ]
    top = 1 if period == "day" else 3
    report.peak_hours = sorted(day_peaks.values(), key=lambda p: (-p.kwh, p.start))[:top]
    from hems.reports.extras import pv_forecast_section, savings_section

    forecast = pv_forecast_section(storage, report)
    if forecast is not None:
        report.extras["pv_forecast"] = forecast
    savings = savings_section(storage, report)
    if savings is not None:
        report.extras["savings"] = savings
    if period == "month":
        from hems.reports.extras import comparison_section

        compared = comparison_section(storage, report)
        if compared is not None:
            report.extras["comparison"] = compared
    if tariff is not None:
        from hems.reports.extras import cost_section

        connection, lock = getattr(storage, "connection", None), getattr(storage, "lock", None)
        report.extras["cost"] = cost_section(tariff, report, connection, lock)
    return report


def _daily_peaks(hours: list[PeakHour], tz: ZoneInfo) -> dict[date, PeakHour]:
    """The largest hourly import of each local day (earliest hour on ties)."""
    best: dict[date, PeakHour] = {}
    for h in hours:
        d = h.start.astimezone(tz).date()
        if d not in best or h.kwh > best[d].kwh:
            best[d] = h
    return best
