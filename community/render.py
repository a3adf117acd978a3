"""A viewer's month for people: text for the terminal, CSV files, a PNG chart.

Each takes what `community.views` gives the viewer, never the month itself. matplotlib is imported
inside `write_png` only; without it, `write_png` raises `ChartUnavailable` (one line).
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from community.views import Table

ROLE_NOTE = {
    "organiser": "organiser: every participant's bill",
    "participant": "participant {p}: your own bill and series only",
    "producer": "producer {p}: the community's totals and your revenue",
    "grid-operator": "grid operator: the exchanges with the grid per metering point",
}


class ChartUnavailable(RuntimeError):
    """matplotlib is not installed."""


def _kwh(wh: int | None) -> str:
    return "-" if wh is None else f"{wh / 1000:,.3f} kWh".replace(",", " ")


def _finding(f: dict[str, Any]) -> str:
    where = f["slot_local"] or ("whole month" if f["check"] == "source" else "")
    run = f" ({f['slots']} slots)" if f["slots"] and f["slots"] > 1 else ""
    who = f["participant"] or "community"
    return f"  {f['severity']:<7} {f['check']:<11} {who:<12} {where}{run}: {f['message']}"


def _energies(d: dict[str, Any]) -> str:
    """``consumption 1.000 kWh, shared ...`` for the ``*_wh`` keys (zero exports left out)."""
    return ", ".join(
        f"{k.removesuffix('_wh').removeprefix('producer_').replace('_', ' ')} {_kwh(v)}"
        for k, v in d.items()
        if k.endswith("_wh") and v is not None and (v or k != "export_wh")
    )


def _bill(b: dict[str, Any], currency: str) -> list[str]:
    head = f"{b['id']} ({b['role']})"
    out = [head, "  " + _energies(b)]
    for ln in b["lines"]:
        qty = (
            f"{ln['kwh']} kWh" + (f" x {ln['price_per_kwh']}" if ln["price_per_kwh"] else "")
            if ln["kwh"]
            else ""
        )
        out.append(f"  {ln['label']:<52} {qty:>24} {ln['amount']:>12}")
    out.append(f"  {'total':<52} {'':>24} {b['total']:>12} {currency}")
    if b["without_community"] is not None:
        out.append(
            f"  {'without the community':<52} {'':>24} {b['without_community']:>12} (saving {b['saving']})"
        )
    out += [f"  note: {n}" for n in b["notes"]]
    return out


def render_text(doc: dict[str, Any]) -> str:
    c, v = doc["community"], doc["view"]
    price = f", community price {c['price_per_kwh']}/kWh" if "price_per_kwh" in c else ""
    lines = [
        f"{c['name']}: {c['period']} ({c['timezone']}), scheme {c['scheme']}, key {c['key']}, "
        f"{c['settlement_minutes']}-minute settlement{price}",
        "view: " + ROLE_NOTE[v["role"]].format(p=v["participant"]),
    ]
    if v["open"]:
        lines.append(
            "  (no organiser key in the members file: anyone with the file and the data sees every bill)"
        )
    conf = doc["conformity"]
    lines.append(f"conformity: {conf['errors']} error(s), {conf['warnings']} warning(s)")
    lines += [_finding(f) for f in conf["findings"]]
    if doc["status"] == "refused":
        lines.append("BILL REFUSED: the data above must be corrected first")
        if conf["errors_elsewhere"]:
            hidden = conf["errors_elsewhere"]
            lines.append(f"  ({hidden} problem(s) in data you may not see; the organiser has the details)")
        return "\n".join(lines) + "\n"
    currency = c.get("currency", "")
    if "totals" in doc:
        t = doc["totals"]
        lines.append(
            f"totals: production {_kwh(t['production_wh'])}, shared {_kwh(t['shared_wh'])}, "
            f"to the grid {_kwh(t['to_grid_wh'])}, consumption {_kwh(t['consumption_wh'])}, "
            f"from the grid {_kwh(t['grid_supply_wh'])}; self-consumption {t['self_consumption_pct']} %, "
            f"self-sufficiency {t['self_sufficiency_pct']} %"
        )
    if "incentive" in doc:
        i = doc["incentive"]
        lines.append(f"CER incentive: TIP {i['tip']} + valorisation {i['valorisation']} EUR")
    if "exchanges" in doc:
        e = doc["exchanges"]
        lines.append(
            f"exchanges: from the grid {_kwh(e['from_grid_wh'])}, to the grid {_kwh(e['to_grid_wh'])}"
        )
        for p in doc["metering_points"]:
            fig = _energies(p)
            basis = "; ".join(f"{d} billed on {b}" for d, b in p["basis"].items())
            lines.append(f"  {p['id']} ({p['role']}): {fig}; {basis}")
    for b in doc.get("participants", []) + ([doc["bill"]] if "bill" in doc else []):
        lines.append("")
        lines += _bill(b, currency)
    if doc.get("notes"):
        lines.append("")
        lines += [f"note: {n}" for n in doc["notes"]]
    return "\n".join(lines) + "\n"


def write_csv(tables: dict[str, Table], directory: Path) -> list[Path]:
    """One CSV per table (``<stem>.csv``); returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, (header, rows) in tables.items():
        path = directory / f"{stem}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)
        written.append(path)
    return written


def write_png(series: dict[str, list[int]], slots: list[datetime], tz: str, title: str, path: Path) -> None:
    """Daily energy (bars: shared and from the grid; line: production or consumption) and the mean
    day by local hour."""
    try:
        import matplotlib
    except ImportError:
        raise ChartUnavailable("--png needs matplotlib (pip install 'hems[charts]')") from None
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    zone = ZoneInfo(tz)
    days: dict[str, dict[str, float]] = {}
    hours: dict[int, dict[str, float]] = {h: {} for h in range(24)}
    n_days = max(1, len({t.astimezone(zone).date() for t in slots}))
    for i, t in enumerate(slots):
        local = t.astimezone(zone)
        d = days.setdefault(local.strftime("%d"), {})
        for name, values in series.items():
            d[name] = d.get(name, 0.0) + values[i] / 1000
            hours[local.hour][name] = hours[local.hour].get(name, 0.0) + values[i] / 1000 / n_days
    fig = Figure(figsize=(11, 7), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    xs = list(days)
    shared = [days[x].get("shared", 0.0) for x in xs]
    top.bar(xs, shared, color="#f1c40f", label="shared")
    top.bar(xs, [days[x].get("grid", 0.0) for x in xs], bottom=shared, color="#7f8c8d", label="from the grid")
    if "to grid" in series:
        top.bar(xs, [-days[x].get("to grid", 0.0) for x in xs], color="#27ae60", label="to the grid")
    line = "production" if "production" in series else "consumption"
    top.plot(xs, [days[x].get(line, 0.0) for x in xs], color="#c0392b", marker="o", label=line)
    top.axhline(0, color="black", linewidth=0.5)
    top.set_xlabel("day")
    top.set_ylabel("kWh per day")
    top.legend(loc="best", fontsize="small")
    top.set_title(title)
    hx = list(range(24))
    for name, colour in ((line, "#c0392b"), ("shared", "#f1c40f"), ("grid", "#7f8c8d")):
        bottom.plot(hx, [hours[h].get(name, 0.0) for h in hx], color=colour, marker=".", label=name)
    bottom.set_xlabel("local hour")
    bottom.set_ylabel("mean kWh per hour")
    bottom.legend(loc="upper right", fontsize="small")
    fig.savefig(str(path), format="png", dpi=100)


def slot_starts(first: datetime, n: int, minutes: int) -> list[datetime]:
    return [first + timedelta(minutes=minutes) * i for i in range(n)]
