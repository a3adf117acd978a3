"""The optimiser's inputs: per-slot prices that agree with the bill, and scenario-format steps."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from tariffs.config import TariffConfig
from tariffs.cost import cost
from tariffs.grid import companies, tariff_on
from tariffs.household import household_tariff
from tariffs.planning import day_inputs
from tariffs.series import EnergySeries, PriceSeries, day_slots

OSLO = ZoneInfo("Europe/Oslo")
TZ = "Europe/Oslo"


@pytest.mark.parametrize(
    ("day", "quarters", "hours"),
    [(date(2026, 3, 29), 92, 23), (date(2026, 1, 15), 96, 24), (date(2026, 10, 25), 100, 25)],
)
def test_a_day_has_92_96_or_100_quarter_hours(day: date, quarters: int, hours: int) -> None:
    h = household_tariff(TariffConfig(grid_company="Elvia"))
    assert len(day_inputs(h, day, None).import_price_per_kwh) == quarters
    assert len(day_inputs(h, day, None, slot_minutes=60).slots) == hours


def test_prices_given_to_the_planner_are_the_prices_billed() -> None:
    h = household_tariff(TariffConfig(grid_company="Elvia", supplier_markup_per_kwh=0.03))
    day = date(2026, 1, 15)
    slots = day_slots(day, TZ, 15)
    spot = PriceSeries(slots[0], 15, [0.5 + 0.01 * i for i in range(96)])  # up to 1.45 NOK
    inputs = day_inputs(h, day, spot)
    use = [0.1 + (i % 7) * 0.2 for i in range(96)]
    bill = cost(h, EnergySeries(slots[0], 15, use), spot)
    planned = sum(p * e for p, e in zip(inputs.import_price_per_kwh, use, strict=True))
    assert planned == pytest.approx(bill.energy_cost, abs=1e-9)
    # strømstøtte works on the hourly mean: the four quarter-hours of an hour share one support
    assert len(set(inputs.prices.scheme_per_kwh[60:64])) == 1
    hourly_mean = sum(0.5 + 0.01 * i for i in range(60, 64)) / 4
    assert inputs.prices.scheme_per_kwh[60] == pytest.approx(-0.9 * (hourly_mean - 0.77))


def test_capacity_steps_in_scenario_format_with_the_month_so_far() -> None:
    h = household_tariff(TariffConfig(grid_company="Elvia"))
    start = datetime(2026, 1, 1, tzinfo=OSLO)
    hours = 14 * 24
    use = [0.4] * hours
    for d, kwh in enumerate([3.0, 6.5, 2.0] + [1.0] * 11):
        use[d * 24 + 8] = kwh  # one peak a day at 08:00
    history = EnergySeries(start, 60, use)
    inputs = day_inputs(h, date(2026, 1, 15), None, history=history)
    cap = inputs.capacity_tariff
    assert cap is not None
    assert cap["step_upper_kw"] == [2, 5, 10, 15, 20, 25, 50, 75, 100]
    assert cap["step_price"][:3] == [125.0, 190.0, 300.0]  # NOK/month incl. VAT
    assert len(cap["step_price"]) == len(cap["step_upper_kw"]) + 1
    assert cap["month_peaks_kw"] == [3.0, 6.5, 2.0] + [1.0] * 11
    # On the first of a month there are no earlier peaks.
    assert day_inputs(h, date(2026, 2, 1), None, history=history).capacity_tariff["month_peaks_kw"] == []  # type: ignore[index]


def test_every_three_peak_tariff_gives_a_valid_scenario_table() -> None:
    day = date(2026, 1, 15)
    checked = 0
    for c in companies():
        try:
            t = tariff_on(c, day)
        except ValueError:
            continue
        h = household_tariff(TariffConfig(grid_company=c.name))
        cap = day_inputs(h, day, None, slot_minutes=60).capacity_tariff
        if t.capacity.method in ("TRE_DØGNMAX_MND", "UKJENT"):
            assert cap is not None, c.name
            assert cap["step_price"] == sorted(cap["step_price"]), c.name
            assert cap["step_upper_kw"] == sorted(cap["step_upper_kw"]), c.name
            checked += 1
        else:
            assert cap is None, c.name
    assert checked > 60


def test_other_methods_are_not_squeezed_into_the_three_peak_shape() -> None:
    h = household_tariff(TariffConfig(grid_company="Fjellnett"))
    inputs = day_inputs(h, date(2026, 1, 15), None)
    assert inputs.capacity_tariff is None
    assert any("FEM_VEKTET_ÅR" in n for n in inputs.notes)


def test_norgespris_removes_the_spot_signal() -> None:
    h = household_tariff(TariffConfig(grid_company="Elvia", support_scheme="norgespris"))
    day = date(2026, 1, 17)  # Saturday: one grid band all day
    slots = day_slots(day, TZ, 60)
    spot = PriceSeries(slots[0], 60, [0.2 * i for i in range(24)])
    prices = day_inputs(h, day, spot, slot_minutes=60)
    assert set(round(p, 9) for p in prices.import_price_per_kwh) == {round((0.40 + 0.2112) * 1.25, 9)}
    assert prices.export_price_per_kwh == pytest.approx([0.2 * i for i in range(24)])


def test_fuse_based_tariff_needs_the_fuse() -> None:
    h = household_tariff(TariffConfig(grid_company="Alut"))
    start = datetime(2026, 1, 1, tzinfo=OSLO)
    energy = EnergySeries(start, 60, [1.0] * 24)
    with pytest.raises(ValueError, match="main_fuse_a"):
        cost(h, energy, None)
    fused = household_tariff(TariffConfig(grid_company="Alut"), site_main_fuse_a=63)
    month = cost(fused, energy, None).months[0]
    assert (month.capacity_method, month.capacity_figure, month.capacity_step) == (
        "OV_TREFASE",
        63,
        "0-125 A",
    )
    assert month.capacity_cost == pytest.approx(3500 / 12 * 1.25 / 31)


def test_fem_vektet_uses_weighted_weekly_peaks() -> None:
    h = household_tariff(TariffConfig(grid_company="Fjellnett"))
    start = datetime(2026, 1, 5, tzinfo=OSLO)  # a Monday; five January weeks, weight 1.0
    use = [0.0] * (27 * 24)
    for week, kwh in enumerate([5.0, 4.0, 3.0, 2.0]):
        use[week * 7 * 24 + 18] = kwh
    month = cost(h, EnergySeries(start, 60, use), None).months[0]
    assert month.capacity_figure == pytest.approx((5 + 4 + 3 + 2 + 0) / 5)
    assert month.capacity_method == "FEM_VEKTET_ÅR"
    assert month.share_of_month == pytest.approx(27 / 31)
    # Fjellnett 2026: 2000 NOK/yr + 534 NOK/kW/yr (667.50 with VAT, as on their price page)
    assert month.capacity_cost == pytest.approx((2000 + 534 * 2.8) / 12 * 1.25 * 27 / 31)
    assert month.capacity_step == "2.80 kW (linear)"


def test_slots_beyond_the_spot_prices_are_priced_without_spot_and_noted() -> None:
    h = household_tariff(TariffConfig(grid_company="Elvia"))
    day = date(2026, 1, 17)
    slots = day_slots(day, TZ, 60)
    spot = PriceSeries(slots[0], 60, [0.5] * 12)  # only the first half of the day
    prices = h.slot_prices(slots, 60, spot)
    assert prices.spot_per_kwh == [0.5] * 12 + [0.0] * 12
    assert prices.notes == [
        "no spot price for 12 slot(s) in 2026-01-17 11:00..2026-01-17 23:00 UTC: spot part 0 there"
    ]


def test_norgespris_settles_per_hour_so_quarter_hour_differences_remain() -> None:
    h = household_tariff(TariffConfig(grid_company="Elvia", support_scheme="norgespris"))
    day = date(2026, 1, 17)  # Saturday: one grid band all day
    slots = day_slots(day, TZ, 15)
    spot = PriceSeries(slots[0], 15, [0.2, 0.4, 0.6, 0.8] * 24)  # every hour's mean is 0.5
    p = h.slot_prices(slots[:4], 15, spot)
    assert p.scheme_per_kwh == pytest.approx([0.40 - 0.5] * 4)
    power = [s + c for s, c in zip(p.spot_per_kwh, p.scheme_per_kwh, strict=True)]
    assert power == pytest.approx([0.1, 0.3, 0.5, 0.7])  # mean 0.40: the Norgespris


def test_day_inputs_make_a_scenario_the_planner_accepts() -> None:
    from optimiser.scenario import parse_scenario

    day = date(2026, 3, 29)  # 92 quarter-hours
    slots = day_slots(day, TZ, 15)
    spot = PriceSeries(slots[0], 15, [0.9 + 0.01 * (i % 10) for i in range(92)])
    for company in ("Elvia", "BKK", "Lede", "Glitre"):
        h = household_tariff(TariffConfig(grid_company=company))
        history = EnergySeries(datetime(2026, 3, 1, tzinfo=OSLO), 60, [1.5] * (27 * 24))
        d = day_inputs(h, day, spot, history=history)
        spec = parse_scenario(
            {
                "horizon": {"start": d.slots[0].astimezone(OSLO).isoformat(), "slots": len(d.slots),
                            "slot_minutes": 15},
                "site": {"timezone": TZ, "network": "TN", "voltage_v": 230},
                "series": {"import_price_per_kwh": d.import_price_per_kwh,
                           "export_price_per_kwh": d.export_price_per_kwh, "base_load_kw": [0.5] * 92},
                "capacity_tariff": d.capacity_tariff,
            },
            f"{company} {day}",
        )  # fmt: skip
        assert spec.capacity_tariff is not None
        assert list(spec.capacity_tariff.month_peaks_kw) == [1.5] * 27
