"""`hems bill`: a month's grid bill (and, with spot prices, power bill) for a consumption file.

``hems bill --consumption FILE.csv --company NAME --month YYYY-MM [--scheme spot|norgespris]
[--prices FILE] [--customer-group household|fritid] [--compare] [--json]``, and for the rarer
cases ``--vat-region``, ``--currency-per-eur``, ``--main-fuse-a``.

The consumption file is ``time,kwh`` (tariffs/consumption.py: hourly or 15-min, local or UTC
times); prices are an ENTSO-E document or a price CSV (tariffs/spot.py). The lines come from
tariffs/statement.py, which prices through the same `tariffs.cost.cost` as reports and the planner.
``--compare`` puts spot with strømstøtte next to Norgespris for the same consumption.

JSON: ``{"company", "month", "kwh", "lines": {"energy", "capacity", "elavgift", "enova",
"support", "spot", "vat", ...}, "total", "grid_bill", "power_bill", "currency",
"capacity_basis_kw", "includes", "left_out", "notes"}``; with ``--compare``: the shared fields and
``"spot"`` and ``"norgespris"`` (each such a document), ``"difference"`` (Norgespris − spot) and
``"cheaper"``.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from typing import Any

from hems.errors import UsageError

NAME = "bill"
HELP = "a month's electricity bills for a consumption file (spot with strømstøtte, or Norgespris)"
TZ = "Europe/Oslo"
GROUPS = {"household": "husholdning", "fritid": "fritid"}
SCHEMES = {"spot": "stromstotte", "norgespris": "norgespris"}
COLUMN = {"stromstotte": "spot + strømstøtte", "norgespris": "Norgespris", "none": "spot, no support"}
SUPPORT = {"stromstotte": "strømstøtte", "norgespris": "Norgespris settlement", "none": "support"}
LABELS = {
    "energy": "energy part",
    "capacity": "capacity step",
    "elavgift": "elavgift",
    "enova": "Enova fee",
    "support": "support",
    "spot": "spot price",
    "markup": "supplier mark-up",
    "fixed": "fixed fees",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--consumption", required=True, metavar="FILE", help="CSV time,kwh (hourly or 15-min)"
    )
    parser.add_argument(
        "--company", required=True, help="grid company by name or GLN (hems tariff companies)"
    )
    parser.add_argument("--month", required=True, help="the month to bill, YYYY-MM")
    parser.add_argument(
        "--scheme", choices=tuple(SCHEMES), default="spot", help="spot (with strømstøtte) or norgespris"
    )
    parser.add_argument(
        "--prices", metavar="FILE", help="spot prices: ENTSO-E A44 XML or CSV (start,price_per_kwh)"
    )
    parser.add_argument("--customer-group", choices=tuple(GROUPS), default="household")
    parser.add_argument("--compare", action="store_true", help="spot with strømstøtte next to Norgespris")
    parser.add_argument("--vat-region", choices=("standard", "north", "tiltakssonen"), default="standard")
    parser.add_argument("--currency-per-eur", type=float, default=None, metavar="RATE",
                        help="NOK per EUR for prices in EUR (default 11.5)")  # fmt: skip
    parser.add_argument(
        "--main-fuse-a", type=float, default=None, help="for tariffs priced by main fuse size"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def _month(text: str) -> tuple[int, int]:
    try:
        first = date.fromisoformat(f"{text}-01")
    except ValueError:
        raise UsageError(f"--month: expected YYYY-MM, got {text!r}") from None
    return first.year, first.month


def run(args: argparse.Namespace) -> int:
    from tariffs.consumption import ConsumptionError, read_consumption
    from tariffs.grid import find_company

    year, month = _month(args.month)
    try:
        company = find_company(args.company)
    except ValueError as exc:
        raise UsageError(f"--company: {exc}") from None
    if args.compare and not args.prices:
        raise UsageError("--compare needs --prices FILE: spot and Norgespris differ in the power price")
    if args.currency_per_eur is not None and not args.currency_per_eur > 0:
        raise UsageError(f"--currency-per-eur: expected a rate > 0, got {args.currency_per_eur:g}")
    try:
        use = read_consumption(args.consumption, TZ)
        month_use = use.month(year, month, TZ)
    except ConsumptionError as exc:
        raise UsageError(str(exc)) from None
    notes = _use_notes(use, month_use, TZ)
    spot = _prices(args, notes) if args.prices else None
    methods = {t.capacity.method for t in company.tariffs}
    history = None
    if "FEM_VEKTET_ÅR" in methods:
        history, months_known = _year(use, month_use)
        if months_known < 12:
            notes.append(
                f"{company.name} prices capacity by the weighted peaks of the last 12 months; the file "
                f"holds {months_known} of them, so the capacity step may be too low"
            )
    schemes = ("stromstotte", "norgespris") if args.compare else (SCHEMES[args.scheme],)
    done = [_statement(args, company.name, s, month_use.energy, spot, history) for s in schemes]
    for s in done:
        s.notes[:0] = notes
    if args.json:
        print(json.dumps(_document(done), ensure_ascii=False, indent=1))
    else:
        print(_text(done))
    return 0


def _statement(
    args: argparse.Namespace, company: str, scheme: str, energy: Any, spot: Any, history: Any
) -> Any:
    from tariffs.config import TariffConfig
    from tariffs.household import household_tariff
    from tariffs.statement import statement

    config = TariffConfig(
        grid_company=company,
        customer_group=GROUPS[args.customer_group],
        support_scheme=scheme,
        vat_region=args.vat_region,
        main_fuse_a=args.main_fuse_a,
    )
    try:
        return statement(household_tariff(config, tz=TZ), energy, spot, year_energy=history)
    except (ValueError, LookupError) as exc:
        raise UsageError(f"--company {args.company}: {exc}") from None


def _use_notes(use: Any, month_use: Any, tz: str) -> list[str]:
    from zoneinfo import ZoneInfo

    notes = []
    unit = "hours" if use.slot_minutes == 60 else "quarter-hours"
    missing = month_use.missing
    if missing:
        first = missing[0].astimezone(ZoneInfo(tz))
        notes.append(
            f"{len(missing)} of {len(month_use.energy)} {unit} have no consumption in the file "
            f"(first {first:%Y-%m-%d %H:%M}): counted as 0 kWh, so the bill and the capacity step "
            "may be too low"
        )
    if use.slot_minutes == 15:
        notes.append("15-minute values: the capacity step is chosen by hourly sums, as the tariffs say")
    return notes


def _prices(args: argparse.Namespace, notes: list[str]) -> Any:
    from tariffs.spot import PriceError, read_prices, to_currency

    try:
        raw = read_prices(args.prices)
    except PriceError as exc:
        raise UsageError(str(exc)) from None
    if raw.currency == "NOK":
        return raw
    if raw.currency != "EUR":
        raise UsageError(f"{args.prices}: prices in {raw.currency}/kWh; a Norwegian bill needs NOK or EUR")
    rate = args.currency_per_eur if args.currency_per_eur is not None else 11.5
    how = "--currency-per-eur" if args.currency_per_eur is not None else "a fixed default; --currency-per-eur"
    notes.append(f"spot prices in EUR converted at {rate:g} NOK/EUR ({how})")
    return to_currency(raw, rate, "NOK")


def _year(use: Any, month_use: Any) -> tuple[Any, int]:
    """The file's consumption over the 365 days up to the month's end, and how many of the 12
    months it has any row in."""
    from zoneinfo import ZoneInfo

    end = month_use.energy.end
    start = end - timedelta(days=365)
    step = timedelta(minutes=use.slot_minutes)
    start = start + (-(start - month_use.energy.start) % step)  # on the slot grid
    series, _missing = use.series(start, end)
    zone = ZoneInfo(TZ)
    months = {(u.year, u.month) for t in use.kwh if start <= t < end for u in [t.astimezone(zone)]}
    return series, min(12, len(months))


def _document(done: list[Any]) -> dict[str, Any]:
    if len(done) == 1:
        return dict(done[0].to_dict())
    spot, norgespris = (s.to_dict() for s in done)
    difference = norgespris["total"] - spot["total"]
    shared = {
        k: spot[k] for k in ("company", "month", "customer_group", "kwh", "currency", "capacity_basis_kw")
    }
    return {
        **shared,
        "spot": spot,
        "norgespris": norgespris,
        "difference": round(difference, 2),
        "cheaper": "norgespris" if difference < 0 else "spot" if difference > 0 else "same",
        "notes": spot["notes"],
    }


def _text(done: list[Any]) -> str:
    import calendar
    import textwrap

    from tariffs.statement import GRID_LINES, POWER_LINES

    first = done[0]
    year, month = int(first.month[:4]), int(first.month[5:])
    group = "holiday home" if first.customer_group == "fritid" else "household"
    out = [f"hems bill — {first.company}, {calendar.month_name[month]} {year}, {group}"]
    if first.capacity_basis_kw is None:
        capacity = f"capacity by main fuse size, step {first.capacity_step}"
    elif first.capacity_method == "FEM_VEKTET_ÅR":
        capacity = f"capacity figure {first.capacity_basis_kw:.2f} kW, priced on a line"
    else:
        capacity = f"capacity figure {first.capacity_basis_kw:.2f} kW, step {first.capacity_step}"
    out.append(f"{first.kwh:.2f} kWh imported; {capacity}")
    out.append(f"amounts in {first.currency}; lines exclude VAT")
    head = "".join(f"{COLUMN[s.scheme]:>20}" for s in done)
    out += ["", f"{'':<34}{head}".rstrip()]

    def row(label: str, values: list[float]) -> str:
        return f"{label:<34}" + "".join(f"{v:>20.2f}" for v in values)

    keys = [k for k in LABELS if any(k in s.lines for s in done)]
    for title, section in (("Grid bill", GRID_LINES), ("Power bill", POWER_LINES)):
        rows = [k for k in keys if k in section]
        if rows:
            out.append(title)
        for k in rows:
            label = LABELS[k]
            if k == "support":  # "strømstøtte", or "strømstøtte | Norgespris" side by side
                names = [SUPPORT[s.scheme] for s in done]
                label = " | ".join(dict.fromkeys(n.removesuffix(" settlement") for n in names))
                label = names[0] if len(done) == 1 else label
            out.append(row(f"  {label}", [s.lines.get(k, 0.0) for s in done]))
    out.append(row("VAT", [s.lines["vat"] for s in done]))
    out.append(row("Total, VAT included", [s.total for s in done]))
    out.append(row("  of which the grid bill", [s.grid_bill for s in done]))
    out.append(row("  of which the power bill", [s.power_bill for s in done]))
    if len(done) == 2:
        diff = done[1].total - done[0].total
        word = "less" if diff < 0 else "more"
        out += [
            "",
            f"Norgespris would have cost {abs(diff):.2f} {first.currency} {word} than spot with strømstøtte.",
        ]
    out.append("")
    includes = list(dict.fromkeys(p for s in done for p in s.includes))
    left_out = list(dict.fromkeys(p for s in done for p in s.left_out))
    for label, items in (("includes", includes), ("left out", left_out)):
        if items:
            out += textwrap.wrap(f"{label}: {', '.join(items)}", 80, subsequent_indent="  ")
    for note in dict.fromkeys(n for s in done for n in s.notes):
        out += textwrap.wrap(f"note: {note}", 80, subsequent_indent="  ")
    return "\n".join(out).rstrip()
