"""Cost from tariffs/, PV forecast vs actual and planned savings, on a real database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hems.reports import build_report
from hems.storage import Storage
from hems.storage.price_cache import SqlitePriceCache
from tariffs.config import TariffConfig
from tariffs.cost import cost
from tariffs.household import household_tariff
from tariffs.series import EnergySeries, PriceSeries

TZ = ZoneInfo("Europe/Oslo")


def elvia(spot: bool = False):
    return household_tariff(TariffConfig(grid_company="Elvia", spot=spot), country="NO", tz="Europe/Oslo")


def test_month_cost_is_the_tariffs_bill_and_its_capacity_figure_is_the_peak_hours(month_db) -> None:
    path, _ = month_db
    tariff = elvia()
    with Storage.open(path, readonly=True) as st:
        report = build_report(st, "month", date(2026, 3, 10), "Europe/Oslo", tariff=tariff)
        start, end = report.span.start, report.span.end
        imp = [p.mean for p in st.series("grid.p_import_w", start, end, "15m")]
        exp = [p.mean for p in st.series("grid.p_export_w", start, end, "15m")]
    bill = cost(tariff, EnergySeries.from_power_w(start, 15, imp, exp), None)
    c = report.to_dict()["cost"]
    assert c["total"] == pytest.approx(bill.total, abs=0.01)
    assert c["energy"] + c["capacity"] + c["fixed"] == pytest.approx(c["total"], abs=0.02)
    assert c["capacity"] > 0 and c["months"][0]["share_of_month"] == pytest.approx(1.0)
    assert c["months"][0]["capacity_figure"] == pytest.approx(report.capacity_basis_kw)
    assert c["months"][0]["capacity_step"] == "5-10 kW"
    # spot = false: the household buys no spot power, so nothing is left out
    assert c["left_out"] == [] and "spot price" not in c["includes"]
    # the circuits' shares of the import cost add up to it (export revenue is not shared out)
    import_cost = sum(bill.import_cost)
    assert sum(c["import_energy_by_consumer"].values()) == pytest.approx(import_cost, abs=0.05)
    # the heater runs only at night (00-06), when Elvia's energy part is the low one: cheaper per kWh
    per_kwh = {
        n: c["import_energy_by_consumer"][n] / report.flows.consumers[n].kwh for n in ("heater", "kitchen")
    }
    assert per_kwh["heater"] < per_kwh["kitchen"]


def test_cached_spot_prices_are_used(month_db) -> None:
    path, _ = month_db
    day = date(2026, 3, 3)
    start = datetime(2026, 3, 3, tzinfo=TZ).astimezone(UTC)
    with Storage.open(path) as st:
        SqlitePriceCache(st.connection).put("NO1", PriceSeries(start, 60, (1.0,) * 24))
    with Storage.open(path, readonly=True) as st:
        cheap = build_report(st, "day", day, "Europe/Oslo", tariff=elvia(spot=False))
        priced = build_report(st, "day", day, "Europe/Oslo", tariff=elvia(spot=True))
    extra = priced.extras["cost"]["energy"] - cheap.extras["cost"]["energy"]
    # 1 NOK/kWh spot on every imported kWh, minus strømstøtte (90 % above 0.9375 NOK excl. VAT 2026),
    # plus 25 % VAT; exports earn the spot price
    assert extra > 0.5 * priced.import_kwh
    assert not any("left out" in n for n in priced.extras["cost"]["notes"])


def test_pv_forecast_against_the_measured_pv(month_db) -> None:
    path, _ = month_db
    with Storage.open(path) as st:
        t0 = datetime(2026, 3, 3, tzinfo=TZ).astimezone(UTC)
        slots = [{"start": (t0 + timedelta(hours=h)).isoformat(), "pv_w": 1500.0} for h in range(24)]
        st.put_doc("forecast.pv.2026-03-03", {"slots": slots})
    with Storage.open(path, readonly=True) as st:
        report = build_report(st, "day", date(2026, 3, 3), "Europe/Oslo")
    f = report.extras["pv_forecast"]
    assert f["slot_minutes"] == 60 and f["slots"] == 24
    assert f["forecast_kwh"] == pytest.approx(36.0) and f["actual_kwh"] == pytest.approx(8.0)


def test_planned_savings_of_runs_in_the_period(month_db) -> None:
    path, _ = month_db
    plan = {
        "explanation": {
            "appliances": {
                "dishwasher": {
                    "chosen": {"start": "2026-03-03T01:00:00+00:00", "cost": 1.25, "fuse_ok": True},
                    "cheapest": {"start": "2026-03-03T01:00:00+00:00", "cost": 1.25, "fuse_ok": True},
                    "earliest": {"start": "2026-03-02T17:00:00+00:00", "cost": 3.0, "fuse_ok": True},
                },
                "boiler": {"energy_kwh": 4.0},
            }
        }
    }
    with Storage.open(path) as st:
        st.put_doc("plan.2026-03-03", plan)
        # hems.control's current plan document carries the optimiser's result under "plan"
        nested = {
            "status": "optimal",
            "plan": {
                "explanation": {
                    "appliances": {
                        "washer": {
                            "chosen": {"start": "2026-03-04T02:00:00+00:00", "cost": 0.5},
                            "earliest": {"start": "2026-03-03T18:00:00+00:00", "cost": 0.75},
                        }
                    }
                }
            },
        }
        st.put_doc("plan", nested)
    with Storage.open(path, readonly=True) as st:
        day = build_report(st, "day", date(2026, 3, 3), "Europe/Oslo")
        other = build_report(st, "day", date(2026, 3, 4), "Europe/Oslo")
    assert day.extras["savings"]["saved"] == pytest.approx(1.75)
    assert day.extras["savings"]["runs"][0]["appliance"] == "dishwasher"
    assert other.extras["savings"]["saved"] == pytest.approx(0.25)
    assert [r["appliance"] for r in other.extras["savings"]["runs"]] == ["washer"]
