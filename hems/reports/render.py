"""A `Report` for people: plain text for the terminal, tidy CSV, and a PNG chart (matplotlib, Agg).

matplotlib is imported only inside `write_png`, so the daemon and `hems --help` never load it.
"""

from __future__ import annotations

import csv
import io
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

from hems.reports.summary import Report


def money_words(doc: dict[str, Any], indent: str = "", width: int = 80) -> list[str]:
    """``includes``, ``left_out`` and ``notes`` of a money section as wrapped lines (80 columns)."""
    import textwrap

    out: list[str] = []
    for label, key in (("includes", "includes"), ("left out", "left_out")):
        if doc.get(key):
            text = f"{label}: {', '.join(doc[key])}"
            out += textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + "  ")
    for note in doc.get("notes") or []:
        out += textwrap.wrap(f"note: {note}", width, initial_indent=indent, subsequent_indent=indent + "  ")
    return out


def _pct(x: float | None) -> str:
    return "   –" if x is None else f"{100 * x:3.0f} %"


def render_text(report: Report, currency: str = "NOK") -> str:
    """The report as an aligned plain-text page (fits 80 columns)."""
    d = report.to_dict()
    h = d["house"]
    tz = report.span.tz
    lines = [
        f"hems report — {report.span.period} {report.span.label} ({tz.key})",
        f"data coverage {100 * report.coverage:.0f} % of {report.slots_expected} quarter-hours",
        "",
        f"{'Imported from grid':<28}{h['import_kwh']:>10.2f} kWh",
        f"{'Exported to grid':<28}{h['export_kwh']:>10.2f} kWh",
        f"{'PV produced':<28}{h['pv_kwh']:>10.2f} kWh",
        f"{'  of which used at home':<28}{h['pv_self_consumed_kwh']:>10.2f} kWh",
    ]
    if h["battery_charge_kwh"] or h["battery_discharge_kwh"]:
        lines += [
            f"{'Battery charged':<28}{h['battery_charge_kwh']:>10.2f} kWh",
            f"{'Battery discharged':<28}{h['battery_discharge_kwh']:>10.2f} kWh",
        ]
    lines += [
        f"{'House consumption':<28}{h['consumption_kwh']:>10.2f} kWh",
        f"{'Covered by own PV/battery':<28}{_pct(h['self_sufficiency']):>10}",
        "",
    ]
    if report.peak_hours:
        title = "Peak hour" if report.span.period == "day" else "Peak hours (largest hour on 3 days)"
        lines.append(title)
        for p in report.peak_hours:
            lines.append(f"  {p.start.astimezone(tz):%a %Y-%m-%d %H:%M}      {p.kwh:>8.2f} kWh")
        if report.span.period != "day":
            lines.append(f"  {'mean (capacity-step figure)':<28}{report.capacity_basis_kw or 0:>7.2f} kW")
        lines.append("")
    unmetered = [("(unmetered)", d["other"])] if round(d["other"]["kwh"], 2) else []  # not a rest of 0
    for title, rows in (
        ("Circuit", [*d["circuits"].items(), *unmetered] if d["circuits"] else []),
        ("Appliance", list(d["appliances"].items())),
    ):
        if not rows:
            continue
        lines.append(f"{title:<18}{'kWh':>9}{'PV':>9}{'battery':>9}{'grid':>9}{'own':>8}")
        for name, a in rows:
            lines.append(
                f"  {name:<16}{a['kwh']:>9.2f}{a['from_pv_kwh']:>9.2f}{a['from_battery_kwh']:>9.2f}"
                f"{a['from_grid_kwh']:>9.2f}{_pct(a['self_consumption_share']):>8}"
            )
        lines.append("")
    cost = d.get("cost")
    if cost and "not_computed" in cost:
        lines += [f"Cost: not computed: {cost['not_computed']}", ""]
    elif cost:
        vat = ", VAT included" if cost.get("vat_included") else ""
        lines.append(f"Cost ({cost.get('currency', currency)}{vat})")
        for part in ("energy", "capacity", "fixed", "total"):
            if part in cost:
                lines.append(f"  {part:<26}{cost[part]:>10.2f}")
        lines += money_words(cost, indent="  ")
        shares = cost.get("import_energy_by_consumer") or {}
        if shares:
            lines.append("  imported energy by circuit")
            for name, amount in shares.items():
                lines.append(f"    {name:<24}{amount:>10.2f}")
        lines.append("")
    savings = d.get("savings")
    if savings:
        unit = (cost or {}).get("currency", currency)
        lines.append(f"{'Saved by scheduling (planned)':<30}{savings['saved']:>8.2f} {unit}")
        lines.append("")
    forecast = d.get("pv_forecast")
    if forecast:
        f_kwh, a_kwh = forecast["forecast_kwh"], forecast["actual_kwh"]
        lines.append(f"{'PV forecast / measured':<28}{f_kwh:>10.2f} / {a_kwh:.2f} kWh")
        lines.append("")
    compared = d.get("comparison")
    if compared and compared.get("sentence"):
        lines += [*textwrap.wrap(compared["sentence"], 80), ""]
    if report.span.period != "day" and report.days:
        lines.append(f"{'Day':<14}{'import':>9}{'export':>9}{'PV':>9}{'use':>9}{'peak h':>9}")
        for day in report.days:
            lines.append(
                f"  {day.day:%a %m-%d}   {day.import_kwh:>9.2f}{day.export_kwh:>9.2f}{day.pv_kwh:>9.2f}"
                f"{day.consumption_kwh:>9.2f}{day.peak_import_kwh:>9.2f}"
            )
    return "\n".join(lines).rstrip() + "\n"


def _flatten(prefix: str, value: Any, out: list[tuple[str, str, str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flatten(f"{prefix}[{i}]", v, out)
    else:
        section, _, metric = prefix.rpartition(".")
        out.append((section, metric, "" if value is None else str(value)))


def render_csv(report: Report) -> str:
    """The report as tidy CSV: one ``section,metric,value`` row per number (units in the names)."""
    rows: list[tuple[str, str, str]] = []
    _flatten("", report.to_dict(), rows)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["section", "metric", "value"])
    writer.writerows(rows)
    return buf.getvalue()


def matplotlib_missing() -> str | None:
    """Why ``--png`` cannot draw here (one line saying how to get matplotlib), or None."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return "--png needs matplotlib, which is not installed: python3 -m pip install matplotlib"
    return None


def write_png(report: Report, path: str | Path) -> None:
    """Two charts: energy over the period (hourly for a day, daily otherwise) and the circuits'
    consumption split by source."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    tz = report.span.tz
    fig = Figure(figsize=(10, 7), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    if report.span.period == "day":
        hours = [h.start for h in report.hourly_import]
        xs = [h.astimezone(tz).strftime("%H") for h in hours]

        def hourly(slots: dict[Any, float]) -> list[float]:
            return [sum(v for t, v in slots.items() if h <= t < h + timedelta(hours=1)) for h in hours]

        top.bar(xs, [h.kwh for h in report.hourly_import], color="#c0392b", label="import")
        top.bar(xs, [-v for v in hourly(report.slot_export)], color="#27ae60", label="export")
        if report.slot_pv:
            top.plot(xs, hourly(report.slot_pv), color="#f1c40f", marker="o", label="PV")
        top.set_xlabel("hour (local)")
        top.set_ylabel("kWh per hour")
    else:
        xs = [d.day.strftime("%d") for d in report.days]
        top.bar(xs, [d.import_kwh for d in report.days], color="#c0392b", label="import")
        top.bar(xs, [-d.export_kwh for d in report.days], color="#27ae60", label="export")
        top.plot(xs, [d.pv_kwh for d in report.days], color="#f1c40f", marker="o", label="PV")
        top.set_xlabel("day")
        top.set_ylabel("kWh per day")
    top.axhline(0, color="black", linewidth=0.5)
    top.legend(loc="upper right")
    top.set_title(f"{report.span.period} {report.span.label}")
    consumers = [*sorted(report.flows.consumers.items()), ("unmetered", report.flows.other)]
    names = [n for n, _ in consumers]
    left = [0.0] * len(consumers)
    for attr, colour, label in (
        ("from_pv_kwh", "#f1c40f", "PV"),
        ("from_battery_kwh", "#2980b9", "battery"),
        ("from_grid_kwh", "#7f8c8d", "grid"),
    ):
        widths = [getattr(a, attr) for _, a in consumers]
        bottom.barh(names, widths, left=left, color=colour, label=label)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    bottom.set_xlabel("kWh")
    bottom.set_title("consumption by circuit and source")
    bottom.legend(loc="lower right")
    fig.savefig(str(path), format="png", dpi=100)
