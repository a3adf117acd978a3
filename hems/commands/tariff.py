"""`hems tariff show|companies`: what every kWh costs on a day, and the grid-company presets.

``hems tariff show --date YYYY-MM-DD --json [--config FILE] [--company NAME|GLN] [--zone NO1]
[--prices FILE] [--db PATH] [--slot-minutes 15|60]`` prints the day's all-in import and export
price per slot, their components, the capacity steps (scenario-format ``[capacity_tariff]``) and
where the spot prices came from (``file: ...``, ``cache``, ``entsoe``, ``fallback: last known
pattern (DATE)`` or ``none: ...``).
"""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hems.errors import UsageError

NAME = "tariff"
HELP = "Show the price of every kWh slot by slot, and the grid-tariff presets."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="tariff_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="a day's all-in import/export prices and capacity steps")
    show.add_argument("--date", help="local day YYYY-MM-DD (default: today)")
    show.add_argument("--config", help="hems.toml ([tariff], [site]); default: Norway, Europe/Oslo")
    show.add_argument("--company", help="grid company by name or GLN (overrides [tariff].grid_company)")
    show.add_argument("--zone", help="bidding zone, e.g. NO1 (overrides [tariff].bidding_zone)")
    show.add_argument("--prices", help="spot prices: ENTSO-E A44 XML or CSV (start,price_per_kwh)")
    show.add_argument("--db", help="hems database (price cache, month history); default: [storage].path")
    show.add_argument("--slot-minutes", type=int, choices=(15, 60), default=15)
    show.add_argument("--json", action="store_true", help="print JSON (default: a table)")
    comp = sub.add_parser("companies", help="the Norwegian grid companies known to hems")
    comp.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    if args.tariff_command == "companies":
        return _companies(args)
    return _show(args)


def _companies(args: argparse.Namespace) -> int:
    from tariffs.grid import CREDIT, companies

    rows = []
    for c in companies():
        methods = sorted({t.capacity.method for t in c.tariffs})
        rows.append({"name": c.name, "gln": list(c.gln), "capacity_methods": methods, "updated": c.updated})
    if args.json:
        print(json.dumps({"companies": rows, "credit": CREDIT}, ensure_ascii=False, indent=1))
    else:
        for r in rows:
            print(f"{r['name']:<40} {','.join(r['gln']):<15} {','.join(r['capacity_methods'])}")
        print(CREDIT)
    return 0


def _day(text: str | None, tz: str) -> date:
    if text is None:
        from hems.clock import SystemClock

        return SystemClock().now().astimezone(_zone(tz)).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--date: expected YYYY-MM-DD, got {text!r}") from None


def _show(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from hems.config import HemsConfig, load_config
    from tariffs.cache import SpotDay, spot_for_day
    from tariffs.exchange import ConfiguredRate
    from tariffs.household import household_tariff
    from tariffs.planning import day_inputs
    from tariffs.series import local_day_bounds
    from tariffs.spot import PriceError, configured_fetcher, read_prices, to_currency

    cfg = load_config(args.config) if args.config else HemsConfig()
    tz, country = cfg.site.timezone, cfg.site.country
    updates: dict[str, Any] = {}
    if args.company:
        from tariffs.grid import find_company

        try:
            find_company(args.company)
        except ValueError as exc:
            raise UsageError(f"--company: {exc}") from None
        updates["grid_company"] = args.company
    if args.zone:
        updates["bidding_zone"] = args.zone
    try:
        tcfg = type(cfg.tariff).model_validate({**cfg.tariff.model_dump(), **updates})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = "--zone" if "bidding_zone" in err["loc"] else "--company"
        raise UsageError(f"{where}: {str(err['msg']).removeprefix('Value error, ')}") from None
    try:
        household = household_tariff(
            tcfg, country=country, tz=tz, site_main_fuse_a=cfg.site.main_fuse_a if args.config else None
        )
    except ValueError as exc:
        raise UsageError(f"{args.config or 'tariff'}: {exc}") from None
    currency = household.currency
    day = _day(args.date, tz)
    start, end = local_day_bounds(day, tz)
    db_path = args.db or (cfg.storage.path if args.config else None)
    storage = None
    if db_path and Path(db_path).exists():
        from hems.storage import Storage

        storage = Storage.open(db_path)
    rate = ConfiguredRate(tcfg, day, currency)
    try:
        if args.prices:
            try:
                raw = read_prices(args.prices)
                if raw.currency not in (currency, "EUR"):
                    raise UsageError(
                        f"{args.prices}: prices in {raw.currency}/kWh, but this household pays in {currency}"
                    )
                series = raw if raw.currency == currency else to_currency(raw, rate.value(), currency)
                spot = SpotDay(series.window(start, end), f"file: {args.prices}")
            except PriceError as exc:
                raise UsageError(str(exc)) from None
            except KeyError:
                raise UsageError(
                    f"{args.prices}: covers {series.start:%Y-%m-%d %H:%M}..{series.end:%Y-%m-%d %H:%M} UTC, "
                    f"not all of {day.isoformat()}"
                ) from None
        else:
            cache = None
            if storage is not None:
                from hems.storage.price_cache import SqlitePriceCache

                cache = SqlitePriceCache(storage.connection)
            fetch = configured_fetcher(tcfg, currency, rate.value)
            spot = spot_for_day(day, tz, tcfg.bidding_zone, cache=cache, fetch=fetch)
        history = _month_history(storage, day, tz) if storage is not None else None
        try:
            inputs = day_inputs(household, day, spot.prices, slot_minutes=args.slot_minutes, history=history)
        except ValueError as exc:
            raise UsageError(f"{args.config or 'tariff'}: {exc}") from None
    finally:
        if storage is not None:
            storage.close()
    out = _document(household, inputs, spot, tcfg.bidding_zone, currency)
    out["exchange_rate"] = rate.used
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        _print_table(out)
    return 0


def _month_history(storage: Any, day: date, tz: str) -> Any:
    """Hourly imports of the month before ``day`` from the database, as an EnergySeries."""
    from tariffs.capacity import month_bounds
    from tariffs.series import EnergySeries, local_day_bounds

    m_start, _ = month_bounds(day.year, day.month, tz)
    d_start, _ = local_day_bounds(day, tz)
    if d_start <= m_start:
        return None
    points = storage.series("grid.p_import_w", m_start, d_start, "1h")
    n = int((d_start - m_start) / timedelta(hours=1))
    watts = [0.0] * n
    for p in points:
        i = int((p.time - m_start) / timedelta(hours=1))
        if 0 <= i < n and p.mean is not None:
            watts[i] = max(0.0, float(p.mean))
    return EnergySeries.from_power_w(m_start, 60, watts) if points else None


def _document(household: Any, inputs: Any, spot: Any, zone: str, currency: str) -> dict[str, Any]:
    from tariffs.describe import included
    from tariffs.grid import CREDIT

    includes, left_out = included(
        household,
        inputs.day,
        spot_missing=[inputs.day] if spot.prices is None and household.config.spot else [],
        capacity="capacity steps",
        fixed=False,
    )
    grid = household.grid_tariff(inputs.day)
    p = inputs.prices
    r6 = lambda xs: [round(x, 6) for x in xs]  # noqa: E731
    doc: dict[str, Any] = {
        "date": inputs.day.isoformat(),
        "timezone": household.tz,
        "country": household.country,
        "currency": currency,
        "vat_included": True,
        "includes": includes,
        "left_out": left_out,
        "zone": zone,
        "slot_minutes": inputs.slot_minutes,
        "spot_source": spot.source,
        "spot_problems": list(spot.problems),
        "support_scheme": household.config.support_scheme if household.country == "NO" else None,
        "grid_company": grid.company if grid else None,
        "grid_gln": list(grid.gln) if grid else [],
        "grid_tariff_valid_from": grid.valid_from.isoformat() if grid else None,
        "slots": [t.astimezone(_zone(household.tz)).isoformat() for t in inputs.slots],
        "import_price_per_kwh": r6(inputs.import_price_per_kwh),
        "export_price_per_kwh": r6(inputs.export_price_per_kwh),
        "components": {
            "spot_per_kwh": r6(p.spot_per_kwh),
            "scheme_per_kwh": r6(p.scheme_per_kwh),
            "markup_per_kwh": r6(p.markup_per_kwh),
            "grid_per_kwh": r6(p.grid_per_kwh),
            "taxes_per_kwh": r6(p.taxes_per_kwh),
            "vat_rate": p.vat_rate[0] if p.vat_rate else None,
            "band": p.band,
        },
        "capacity_tariff": inputs.capacity_tariff,
        "capacity_method": grid.capacity.method if grid else None,
        "fixed_per_month": round(household.monthly_fixed() * (1 + household.vat_rate(inputs.day)), 6),
        "power_limit_kw": inputs.power_limit_kw,
        "notes": inputs.notes,
    }
    if grid is not None:
        doc["credit"] = CREDIT
    return doc


def _zone(tz: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)


def _print_table(doc: dict[str, Any]) -> None:
    from hems.reports.render import money_words

    print(
        f"{doc['date']}  {doc['grid_company'] or '(no grid company)'}  zone {doc['zone']}  "
        f"spot: {doc['spot_source']}"
    )
    print(f"prices in {doc['currency']}/kWh, VAT included (export: no VAT)")
    for line in money_words({"includes": doc["includes"], "left_out": doc["left_out"]}):
        print(line)
    print(f"{'slot':<26} {'import':>9} {'export':>9}  band")
    for t, imp, exp, band in zip(
        doc["slots"],
        doc["import_price_per_kwh"],
        doc["export_price_per_kwh"],
        doc["components"]["band"],
        strict=True,
    ):
        print(f"{t:<26} {imp:>9.4f} {exp:>9.4f}  {band}")
    cap = doc["capacity_tariff"]
    if cap:
        print(
            f"capacity steps (upper kW): {cap['step_upper_kw']}; "
            f"{doc['currency']}/month, VAT included: {cap['step_price']}"
        )
    for note in doc["notes"]:
        print(f"note: {note}")
    if doc.get("credit"):
        print(doc["credit"])
