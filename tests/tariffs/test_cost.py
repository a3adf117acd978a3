"""Hand-computed bills match `tariffs.cost.cost` to the øre.

Elvia 2026 (fri-nettleie): energy part 20.99 øre (working days 06-21) / 12.99 øre (other hours),
capacity steps 0-2-5-10... kW at 100/152/240... NOK/month; elavgift 7.13 + Enova 1.00 øre; VAT 25 %;
strømstøtte 90 % above 77 øre (hourly). All figures below are worked out by hand from those rates.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tariffs.config import BandConfig, TariffConfig
from tariffs.cost import cost
from tariffs.household import household_tariff
from tariffs.series import EnergySeries, PriceSeries, day_slots
from tariffs.spot import read_prices, to_currency

DATA = Path(__file__).parents[1] / "data" / "tariffs"
OSLO = ZoneInfo("Europe/Oslo")
ORE = 0.005  # half an øre


def elvia(**kw: object) -> object:
    return household_tariff(TariffConfig(grid_company="Elvia", **kw))  # type: ignore[arg-type]


def test_a_winter_weekday_with_strømstøtte() -> None:
    # 2026-01-15 (Thursday): 1 kWh every hour; spot 0.60 NOK before noon, 1.10 after (CSV).
    spot = read_prices(DATA / "prices_2026-01-15.csv")
    energy = EnergySeries(spot.start, 60, [1.0] * 24)
    bill = cost(elvia(), energy, spot)
    # 00-05 night: (0.60 + 0.1299 + 0.0813) * 1.25 = 1.014          x 6
    # 06-11 day:   (0.60 + 0.2099 + 0.0813) * 1.25 = 1.114          x 6
    # 12-21 day:   (1.10 - 0.9*0.33 + 0.2099 + 0.0813) * 1.25 = 1.36775  x 10
    # 22-23 night: (0.803 + 0.1299 + 0.0813) * 1.25 = 1.26775       x 2
    expected_energy = 6 * 1.014 + 6 * 1.114 + 10 * 1.36775 + 2 * 1.26775  # 28.981
    assert bill.energy_cost == pytest.approx(28.981, abs=ORE)
    assert bill.energy_cost == pytest.approx(expected_energy, abs=ORE)
    assert bill.import_cost[12] == pytest.approx(1.36775, abs=1e-9)
    (month,) = bill.months
    assert month.capacity_step == "0-2 kW"
    assert month.share_of_month == pytest.approx(1 / 31)
    assert month.capacity_cost == pytest.approx(125.0 / 31, abs=ORE)  # 100 NOK + VAT, one day of 31
    assert bill.total == pytest.approx(28.981 + 125.0 / 31, abs=ORE)


def test_spring_dst_day_from_an_entsoe_document() -> None:
    # 2026-03-29 (Sunday, 23 h): 0.5 kWh every quarter-hour; spot 50 EUR/MWh until 08:00, 80 after;
    # EURNOK 11.5 → 0.575 and 0.92 NOK/kWh. Sunday: night rate all day.
    spot = to_currency(read_prices(DATA / "entsoe_no1_2026-03-29_pt15m_dst.xml"), 11.5, "NOK")
    energy = EnergySeries(spot.start, 15, [0.5] * 92)
    bill = cost(elvia(), energy, spot)
    assert len(bill.slots) == 92
    # 28 slots: (0.575 + 0.1299 + 0.0813) * 1.25 = 0.98275
    # 64 slots: (0.92 - 0.9*0.15 + 0.1299 + 0.0813) * 1.25 = 1.24525
    assert bill.energy_cost == pytest.approx(14 * 0.98275 + 32 * 1.24525, abs=ORE)  # 53.6065
    assert bill.months[0].e_import_kwh == pytest.approx(46.0)


def _february(last_day_peak_kwh: float) -> EnergySeries:
    start = datetime(2026, 2, 1, tzinfo=OSLO)
    values = []
    for h in range(28 * 24):
        local = start + timedelta(hours=h)
        if local.hour == 18:
            values.append(last_day_peak_kwh if local.day == 28 else 4.0)
        else:
            values.append(0.5)
    return EnergySeries(start, 60, values)


def test_a_month_whose_capacity_step_changes_on_the_last_day() -> None:
    # February 2026: 0.5 kWh/h, 4 kWh at 18:00 every day; on Sat 28 Feb 8 kWh at 18:00.
    # Top three daily peaks: 8, 4, 4 → 5.33 kW → step 5-10 kW (240 NOK + VAT = 300).
    # Working days (20) 06-21: 15 h x 0.5 + 4 = 11.5 kWh each → 230 kWh at the day rate.
    # Total 672 x 0.5 + 27 x 3.5 + 7.5 = 438 kWh; spot flat 0.50 NOK (below the support threshold).
    energy = _february(8.0)
    spot = PriceSeries(energy.start, 60, [0.5] * len(energy))
    bill = cost(elvia(), energy, spot)
    (month,) = bill.months
    assert month.e_import_kwh == pytest.approx(438.0)
    ex_vat = 438 * (0.5 + 0.0813) + 230 * 0.2099 + 208 * 0.1299  # 329.9056
    assert month.energy_cost == pytest.approx(ex_vat * 1.25, abs=ORE)  # 412.382
    assert month.capacity_figure == pytest.approx(16 / 3)
    assert (month.capacity_step, month.share_of_month) == ("5-10 kW", 1.0)
    assert month.capacity_cost == pytest.approx(300.0, abs=ORE)
    assert bill.total == pytest.approx(412.382 + 300.0, abs=ORE)
    # The same month without the last day's peak stays in step 2-5 kW (190 NOK with VAT).
    calm = cost(elvia(), _february(4.0), spot).months[0]
    assert (calm.capacity_step, calm.capacity_cost) == ("2-5 kW", pytest.approx(190.0, abs=ORE))


def test_threshold_exactly_on_a_step_follows_the_company_rule() -> None:
    # Three daily peaks of exactly 5.00 kW: Elvia's thresholds are inclusive → step 5-10 kW.
    start = datetime(2026, 2, 1, tzinfo=OSLO)
    values = [5.0 if h in (18, 42, 66) else 0.0 for h in range(72)]
    month = cost(elvia(), EnergySeries(start, 60, values), None).months[0]
    assert month.capacity_step == "5-10 kW"


def test_bkk_invoice_example_step() -> None:
    # BKK, October 2025 (research A.2): peaks 5.714, 5.475, 5.238 kW → 5.476 → 415 NOK/month incl. VAT.
    start = datetime(2025, 10, 1, tzinfo=OSLO)
    values = [0.0] * (31 * 24 + 1)  # October has 745 hours: clocks go back on the 26th
    for day, kwh in ((12, 5.714), (18, 5.475), (10, 5.238)):
        values[(day - 1) * 24 + 17] = kwh
    bill = cost(household_tariff(TariffConfig(grid_company="BKK")), EnergySeries(start, 60, values), None)
    month = bill.months[0]
    assert month.capacity_figure == pytest.approx(5.47566, abs=1e-5)
    assert month.capacity_cost == pytest.approx(415.0, abs=ORE)


def test_norgespris_in_the_north_and_its_monthly_cap() -> None:
    # Norgespris 0.40 NOK, no VAT in Nordland/Troms; spot 1.50 does not matter below the cap.
    h = household_tariff(
        TariffConfig(
            grid_company="Elvia",
            support_scheme="norgespris",
            vat_region="north",
            supplier_markup_per_kwh=0.02,
        )
    )
    start = datetime(2026, 1, 17, tzinfo=OSLO)  # a Saturday: night rate all day
    spot = PriceSeries(start, 60, [1.5] * 24)
    bill = cost(h, EnergySeries(start, 60, [2.0] * 24), spot)
    assert bill.energy_cost == pytest.approx(48 * (0.40 + 0.02 + 0.1299 + 0.0813), abs=ORE)  # 30.2976
    # 5100 kWh in one hour: 5000 at Norgespris, 100 at spot.
    big = cost(h, EnergySeries(start, 60, [5100.0]), spot)
    assert big.energy_cost == pytest.approx(5000 * (0.42 + 0.2112) + 100 * (1.5 + 0.02 + 0.2112), abs=ORE)


def test_italy_bands_contracted_power_and_export() -> None:
    cfg = TariffConfig(
        spot=False,
        band_preset="IT_F1F2F3",
        band_prices_per_kwh={"F1": 0.30, "F2": 0.25, "F3": 0.20},
        vat_rate=0.10,
        energy_tax_per_kwh=0.0227,
        contracted_power_kw=3.0,
        power_fee_per_kw_month=2.0,
    )
    h = household_tariff(cfg, country="IT", tz="Europe/Rome")
    day = date(2026, 1, 14)  # Wednesday: F1 08-19 (11 h), F2 07 and 19-23 (5 h), F3 8 h
    slots = day_slots(day, "Europe/Rome", 60)
    bill = cost(h, EnergySeries(slots[0], 60, [1.0] * 24), None)
    assert bill.energy_cost == pytest.approx((11 * 0.30 + 5 * 0.25 + 8 * 0.20 + 24 * 0.0227) * 1.1, abs=ORE)
    assert bill.months[0].fixed_cost == pytest.approx(3.0 * 2.0 * 1.1 / 31, abs=ORE)
    assert h.power_limit_kw() == pytest.approx(3.3)
    # Epiphany (6 Jan) is a national holiday: F3 all day.
    epiphany = day_slots(date(2026, 1, 6), "Europe/Rome", 60)
    assert set(h.slot_prices(epiphany, 60, None).band) == {"F3"}


def test_own_bands_for_any_country_and_export_compensation() -> None:
    cfg = TariffConfig(
        spot=True,
        support_scheme="none",
        vat_rate=0.2,
        export_markup_per_kwh=-0.01,
        band=[BandConfig(name="peak", price_per_kwh=0.10, days=["weekday"], hours="17-19")],
        base_price_per_kwh=0.02,
    )
    h = household_tariff(cfg, country="DE", tz="Europe/Berlin")
    slots = day_slots(date(2026, 1, 14), "Europe/Berlin", 60)
    spot = PriceSeries(slots[0], 60, [0.1] * 24, "EUR")
    energy = EnergySeries(slots[0], 60, [1.0] * 24, [0.5] * 24)
    bill = cost(h, energy, spot)
    imports = (21 * (0.1 + 0.02) + 3 * (0.1 + 0.10)) * 1.2
    exports = 24 * 0.5 * (0.1 - 0.01)
    assert bill.energy_cost == pytest.approx(imports - exports, abs=ORE)
    assert sum(bill.export_revenue) == pytest.approx(exports)


def test_a_holiday_home_gets_no_strømstøtte() -> None:
    # Forskrift om strømstønad § 3 a: support is for homes; a cabin (customer_group "fritid") pays
    # the whole spot price. January 2026, 2 kWh every hour, spot 1.00 NOK: a home gets
    # 0.9 x (1.00 - 0.77) = 0.207 NOK/kWh back (+ VAT), a cabin nothing.
    start = datetime(2026, 1, 1, tzinfo=OSLO)
    hours = 31 * 24
    spot = PriceSeries(start, 60, [1.0] * hours)
    energy = EnergySeries(start, 60, [2.0] * hours)
    home = cost(elvia(), energy, spot)
    cabin = cost(elvia(customer_group="fritid"), energy, spot)
    assert cabin.energy_cost - home.energy_cost == pytest.approx(2 * hours * 0.207 * 1.25, abs=ORE)  # 385.02
    assert any("no strømstøtte" in n and "§ 3 a" in n for n in cabin.notes)
    assert not any("strømstøtte" in n for n in home.notes)
    slots = day_slots(date(2026, 1, 15), "Europe/Oslo", 60)
    prices = elvia(customer_group="fritid").slot_prices(slots, 60, spot)  # type: ignore[attr-defined]
    assert set(prices.scheme_per_kwh) == {0.0}


def test_fjellnett_weights_each_hour_by_its_own_month() -> None:
    # Fjellnett's published month weights: Jan 100, Feb 100, Mar 85, Apr 50, May 30, Jun-Aug 25,
    # Sep 30, Oct 45, Nov 70, Dec 95 %. A year (Apr 2025 - Mar 2026) at 0 kWh with six 10 kWh hours:
    # Sun 1 Mar 2026 (its week began on Mon 23 Feb, but the hour is a March hour: 85 %) → 8.5,
    # 10 Dec → 9.5, 12 Nov → 7.0, 15 Oct → 4.5, 10 Sep → 3.0, 13 May → 3.0.
    # Five highest weighted weekly peaks: (9.5 + 8.5 + 7.0 + 4.5 + 3.0) / 5 = 6.5 kW.
    start = datetime(2025, 4, 1, tzinfo=OSLO)
    end = datetime(2026, 4, 1, tzinfo=OSLO)
    hours = int((end - start).total_seconds() // 3600)
    values = [0.0] * hours
    for peak in ((2026, 3, 1), (2025, 12, 10), (2025, 11, 12), (2025, 10, 15), (2025, 9, 10), (2025, 5, 13)):
        at = datetime(*peak, 18, tzinfo=OSLO)
        values[int((at - start).total_seconds() // 3600)] = 10.0
    fjellnett = household_tariff(TariffConfig(grid_company="Fjellnett"))
    bill = cost(fjellnett, EnergySeries(start, 60, values), None)
    march = bill.months[-1]
    assert (march.month, march.capacity_method) == ("2026-03", "FEM_VEKTET_ÅR")
    assert march.capacity_figure == pytest.approx(6.5)
    # Fjellnett 2026 (Jan-Jun): 2000 NOK/yr + 534 NOK/kW/yr, excl. VAT.
    assert march.capacity_cost == pytest.approx((2000 + 534 * 6.5) / 12 * 1.25, abs=ORE)  # 569.90


def test_norgespris_chosen_for_a_day_before_it_existed_bills_strømstøtte() -> None:
    # Norgespris started 1 Oct 2025; on 30 Sep 2025 the household had strømstøtte (threshold 0.75).
    # One Tuesday (working day: Elvia 2025 day/night bands), 1 kWh an hour at spot 1.25 NOK.
    np_home = elvia(support_scheme="norgespris")
    slots = day_slots(date(2025, 9, 30), "Europe/Oslo", 60)
    spot = PriceSeries(slots[0], 60, [1.25] * 24)
    prices = np_home.slot_prices(slots, 60, spot)  # type: ignore[attr-defined]
    assert prices.scheme_per_kwh == pytest.approx([-0.9 * (1.25 - 0.75)] * 24)
    bill = cost(np_home, EnergySeries(slots[0], 60, [1.0] * 24), spot)  # type: ignore[arg-type]
    same = cost(elvia(), EnergySeries(slots[0], 60, [1.0] * 24), spot)  # type: ignore[arg-type]
    assert bill.energy_cost == pytest.approx(same.energy_cost)
    assert any("Norgespris started 2025-10-01" in n and "strømstøtte" in n for n in bill.notes)


def test_years_past_the_known_rates_are_said_once_per_year() -> None:
    # Strømstøtte's threshold is known for 2026 (0.77); the regulation runs to 2029 without one.
    # The bill says that it carries 2026's figure forward, and that the charges are carried too.
    start = datetime(2027, 3, 1, tzinfo=OSLO)
    hours = 31 * 24
    spot = PriceSeries(start, 60, [1.0] * hours)
    bill = cost(elvia(), EnergySeries(start, 60, [1.0] * hours), spot)
    support = [n for n in bill.notes if "strømstøtte threshold" in n]
    assert support == ["2027: strømstøtte threshold not known; 2026's 0.77 NOK/kWh used"]
    assert [n for n in bill.notes if "public charges" in n] == [
        "2027: public charges not known; the last known rates (2026) used"
    ]
    after = cost(elvia(), EnergySeries(datetime(2030, 1, 7, tzinfo=OSLO), 60, [1.0] * 24), None)
    assert any("strømstøtte ended 2029-12-31" in n for n in after.notes)
