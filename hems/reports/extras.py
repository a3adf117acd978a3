"""The optional parts of a report: cost (from tariffs/), PV forecast vs actual, scheduling savings.

- Cost: `tariffs.cost.cost` on the period's 15-min import/export energies, spot prices from the
  database's price cache (``tariffs.cache.spot_for_day`` without a fetch: reports never go to the
  network). Monthly parts (capacity step, fixed fees) are prorated by tariffs/ to the share of the
  month the period covers, so a day's report carries 1/30 or so of the month's capacity cost.
- PV forecast: the forecasts the daemon archived (``forecast.pv.<YYYY-MM-DD>`` documents, slots of
  ``{"start", "pv_w"}``; or the current ``pv_forecast`` document) against the measured PV over the
  same slots.
- Savings: for each planned run of a shiftable appliance (the optimiser's ``explanation``, at the
  top of archived ``plan.<YYYY-MM-DD>`` documents or of the current ``plan``, or under its
  ``plan`` key as hems.control stores it), the plan's cost of starting at the
  earliest allowed time (when the appliance asked to run) minus the cost at the chosen start.
  These are the optimiser's own figures, computed when it planned (an estimate, not a measurement).
"""

from __future__ import annotations

import calendar
import contextlib
import sqlite3
from datetime import UTC, date, datetime
from itertools import pairwise
from typing import Any

from hems.reports.summary import SLOT, Report, StorageReader


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t.astimezone(UTC) if t.tzinfo else None


def _docs(storage: StorageReader, report: Report, prefix: str, current: str) -> list[Any]:
    docs = [storage.get_doc(f"{prefix}.{d.isoformat()}") for d in report.span.days()]
    docs.append(storage.get_doc(current))
    return [d for d in docs if isinstance(d, dict)]


# ----- PV forecast vs actual -------------------------------------------------------------------------
def _forecast_points(doc: dict[str, Any]) -> dict[datetime, float]:
    """Forecast power per slot start [W] from either archived format."""
    out: dict[datetime, float] = {}
    slots = doc.get("slots")
    if not isinstance(slots, list):
        return out
    values = doc.get("pv_kw")
    for i, slot in enumerate(slots):
        if isinstance(slot, dict):
            t, w = _time(slot.get("start")), slot.get("pv_w")
        elif isinstance(values, list) and i < len(values):
            t, kw = _time(slot), values[i]
            w = kw * 1000.0 if isinstance(kw, int | float) else None
        else:
            continue
        if t is not None and isinstance(w, int | float):
            out[t] = float(w)
    return out


def pv_forecast_section(storage: StorageReader, report: Report) -> dict[str, Any] | None:
    """Forecast and measured PV [kWh] over the forecast slots of the period that have measurements."""
    points: dict[datetime, float] = {}
    for doc in _docs(storage, report, "forecast.pv", "pv_forecast"):
        for t, w in _forecast_points(doc).items():
            points.setdefault(t, w)
    times = sorted(t for t in points if report.span.start <= t < report.span.end)
    if not times or not report.slot_pv:
        return None
    step = min((b - a for a, b in pairwise(times)), default=SLOT)
    forecast = actual = 0.0
    slots = 0
    for t in times:
        measured = [kwh for s, kwh in report.slot_pv.items() if t <= s < t + step]
        if measured:
            forecast += points[t] * step.total_seconds() / 3600 / 1000
            actual += sum(measured)
            slots += 1
    if not slots:
        return None
    return {
        "forecast_kwh": round(forecast, 4),
        "actual_kwh": round(actual, 4),
        "error_kwh": round(forecast - actual, 4),
        "slots": slots,
        "slot_minutes": int(step.total_seconds() // 60),
    }


# ----- savings from scheduled runs -------------------------------------------------------------------
def savings_section(storage: StorageReader, report: Report) -> dict[str, Any] | None:
    """Planned savings of the shiftable runs whose chosen start lies in the period."""
    runs: dict[tuple[str, datetime], dict[str, Any]] = {}
    for doc in _docs(storage, report, "plan", "plan"):
        inner = doc.get("plan")  # hems.control stores the optimiser's result under "plan"
        explanation = doc.get("explanation") or (
            inner.get("explanation") if isinstance(inner, dict) else None
        )
        apps = explanation.get("appliances") if isinstance(explanation, dict) else None
        if not isinstance(apps, dict):
            continue
        for app_id, info in apps.items():
            if not isinstance(info, dict):
                continue
            chosen, earliest = info.get("chosen"), info.get("earliest")
            if not isinstance(chosen, dict) or not isinstance(earliest, dict):
                continue
            start, asked = _time(chosen.get("start")), _time(earliest.get("start"))
            c, e = chosen.get("cost"), earliest.get("cost")
            if start is None or asked is None:
                continue
            if not isinstance(c, int | float) or not isinstance(e, int | float):
                continue
            if report.span.start <= start < report.span.end:
                runs[(str(app_id), start)] = {
                    "appliance": str(app_id),
                    "start": start.astimezone(report.span.tz).isoformat(),
                    "requested_start": asked.astimezone(report.span.tz).isoformat(),
                    "cost": round(float(c), 4),
                    "cost_at_requested": round(float(e), 4),
                    "saved": round(float(e) - float(c), 4),
                }
    if not runs:
        return None
    listed = [runs[k] for k in sorted(runs)]
    return {"saved": round(sum(r["saved"] for r in listed), 4), "basis": "planned", "runs": listed}


# ----- cost ------------------------------------------------------------------------------------------
def _spot(
    tariff: Any, report: Report, connection: sqlite3.Connection | None, lock: Any
) -> tuple[Any, list[date], list[str]]:
    """A 15-min spot `PriceSeries` over the period from the price cache (0 where none is known), the
    days without any price, and notes on days priced by a fallback. ``lock``: the storage's lock,
    held while the shared connection is read (the daemon's writer uses it from another thread)."""
    with lock if lock is not None else contextlib.nullcontext():
        return _cached_spot(tariff, report, connection)


def _cached_spot(
    tariff: Any, report: Report, connection: sqlite3.Connection | None
) -> tuple[Any, list[date], list[str]]:
    from tariffs.cache import spot_for_day
    from tariffs.series import PriceSeries, day_slots

    days = report.span.days()
    if (
        connection is None
        or not connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'price_cache'"
        ).fetchone()
    ):
        return None, days, []
    from hems.storage.price_cache import SqlitePriceCache

    cache = SqlitePriceCache(connection)
    tz = str(report.span.tz)
    prices: list[float] = []
    missing: list[date] = []
    notes: list[str] = []
    currency = "NOK"
    for day in days:
        got = spot_for_day(day, tz, tariff.config.bidding_zone, cache=cache)
        slots = day_slots(day, tz, 15)
        if got.prices is None:
            prices += [0.0] * len(slots)
            missing.append(day)
        else:
            prices += got.prices.on_slots(slots, 15)
            currency = got.prices.currency
            if got.source != "cache":
                notes.append(f"{day}: spot price from the {got.source}")
    if len(missing) == len(days):
        return None, missing, notes
    return PriceSeries(report.span.start, 15, tuple(prices), currency), missing, notes


def _capacity_words(bill: Any) -> str:
    """How the bill counts the capacity part: "capacity step", "capacity step 1/31 of the month"."""
    if len(bill.months) != 1:
        return "capacity steps, each month's share"
    m = bill.months[0]
    days_in_month = calendar.monthrange(int(m.month[:4]), int(m.month[5:]))[1]
    covered = round(m.share_of_month * days_in_month)
    return (
        "capacity step"
        if covered >= days_in_month
        else f"capacity step {covered}/{days_in_month} of the month"
    )


def cost_section(
    tariff: Any, report: Report, connection: sqlite3.Connection | None, lock: Any = None
) -> dict[str, Any]:
    """The period's bill split into energy, capacity and fixed parts [currency, VAT included].

    ``import_energy_by_consumer``: each circuit's (and the unmetered rest's) share of the cost of
    imported energy: per slot, the grid part of its consumption (flow rule) times the slot's
    import price from the bill. PV- and battery-covered energy costs nothing here; the shares add
    up to the import cost (the energy part before export revenue). ``includes`` and ``left_out``
    say in words which parts the figures hold and which could not be priced (tariffs.describe).
    """
    from tariffs.cost import cost
    from tariffs.describe import included
    from tariffs.series import EnergySeries

    n = int((report.span.end - report.span.start) / SLOT)
    starts = [report.span.start + i * SLOT for i in range(n)]
    energy = EnergySeries(
        report.span.start,
        15,
        tuple(max(report.slot_import.get(t, 0.0), 0.0) for t in starts),
        tuple(max(report.slot_export.get(t, 0.0), 0.0) for t in starts),
    )
    spot, missing, spot_notes = _spot(tariff, report, connection, lock)
    bill = cost(tariff, energy, spot)
    currency = spot.currency if spot is not None else tariff.currency
    by_consumer: dict[str, float] = {}
    for i, t in enumerate(starts):
        imported = energy.e_import_kwh[i]
        if imported <= 0:
            continue
        price = bill.import_cost[i] / imported  # this slot's all-in import price [currency/kWh]
        for name, kwh in report.slot_grid_use.get(t, {}).items():
            by_consumer[name] = by_consumer.get(name, 0.0) + kwh * price
    includes, left_out = included(
        tariff,
        report.span.first,
        spot_missing=missing if tariff.config.spot else (),
        days=len(report.span.days()),
        capacity=_capacity_words(bill),
    )
    return {
        "currency": currency,
        "vat_included": True,
        "energy": round(bill.energy_cost, 2),
        "capacity": round(bill.capacity_cost, 2),
        "fixed": round(bill.fixed_cost, 2),
        "total": round(bill.total, 2),
        "includes": includes,
        "left_out": left_out,
        "months": [
            {
                "month": m.month,
                "share_of_month": round(m.share_of_month, 4),
                "capacity_step": m.capacity_step,
                "capacity_figure": None if m.capacity_figure is None else round(m.capacity_figure, 4),
                "capacity_method": m.capacity_method,
            }
            for m in bill.months
        ],
        "import_energy_by_consumer": {name: round(v, 2) for name, v in sorted(by_consumer.items())},
        "notes": [n for n in bill.notes if not n.startswith("no spot price for")] + spot_notes,
    }


# ----- social comparison ---------------------------------------------------------------------------
def comparison_section(storage: StorageReader, report: Report) -> dict[str, Any] | None:
    """The month against similar homes, from the comparison the telemetry job fetched
    (``comparison.<YYYY-MM>``, hems.telemetry.comparison); None when none was fetched (no opt-in).

    The household's figure is its mean day of grid import over the month's days with data, the
    measure of the server's monthly distribution; it is compared with their median (p50)."""
    from hems.telemetry.comparison import comparison_sentence, doc_key

    stored = storage.get_doc(doc_key(f"{report.span.first:%Y-%m}"))
    if not isinstance(stored, dict):
        return None
    own = sum(d.import_kwh for d in report.days) / len(report.days) if report.days else None
    sentence = comparison_sentence(own, stored, when=f"in {report.span.first:%B %Y}")
    found = stored.get("comparison")
    doc: dict[str, Any] = found if isinstance(found, dict) else {}
    figures = doc.get("monthly")
    monthly: dict[str, Any] = figures if isinstance(figures, dict) else {}
    return {
        "sentence": sentence,
        "own_import_kwh_per_day": None if own is None else round(own, 3),
        "compared_with": "median",
        "prefix": doc.get("prefix"),
        "group": doc.get("group"),
        "homes": monthly.get("homes"),
        "median_import_kwh_per_day": monthly.get("p50"),
        "mean_import_kwh_per_day": monthly.get("mean"),
    }


__all__ = ["comparison_section", "cost_section", "pv_forecast_section", "savings_section"]
