"""Grid-company presets (fri-nettleie), public holidays and time-of-use bands."""

from __future__ import annotations

from datetime import date, datetime
from importlib.resources import files
from zoneinfo import ZoneInfo

import pytest

from tariffs.bands import day_matches, parse_hours, parse_months, preset_bands
from tariffs.grid import CREDIT, companies, find_company, tariff_on
from tariffs.norway import norgespris, public_charges, stromstotte

OSLO = ZoneInfo("Europe/Oslo")


def test_every_company_of_the_dataset_loads_with_all_capacity_methods() -> None:
    cs = companies()
    assert len(cs) == 74
    methods = {t.capacity.method for c in cs for t in c.tariffs}
    assert methods == {"TRE_DØGNMAX_MND", "FEM_VEKTET_ÅR", "MND_MAX", "OV_TREFASE", "UKJENT"}
    for c in cs:
        for t in c.tariffs:
            assert t.capacity.lower[0] == 0 and list(t.capacity.lower) == sorted(t.capacity.lower)
            assert -0.5 < t.energy.base_price_per_kwh < 1.0  # øre became NOK (KE Nett: -2 øre)


def test_the_data_ships_with_its_licence_and_credit() -> None:
    data = files("tariffs").joinpath("data")
    assert "Attribution 4.0 International" in data.joinpath("LICENSE-CC-BY-4.0").read_text(encoding="utf-8")
    assert CREDIT in data.joinpath("README.md").read_text(encoding="utf-8")
    assert CREDIT == "Grid tariff data: fri-nettleie, kraftsystemet.no (CC BY 4.0)"


def test_find_by_name_fragment_exact_name_or_gln() -> None:
    assert find_company("elvia").name == "Elvia AS"
    assert find_company("7080005046220").name == "Elvia AS"
    assert find_company("Tensio TN").name == "Tensio TN AS"
    with pytest.raises(ValueError, match="ambiguous: Tensio TN AS, Tensio TS AS"):
        find_company("tensio")
    with pytest.raises(ValueError, match="several tariff areas; give the name instead: Area Nett AS"):
        find_company("7080004087071")
    assert find_company("Area Nett AS - Område 3 - Lega").name.endswith("Lega")
    with pytest.raises(ValueError, match="unknown grid company 'Nowhere Nett'"):
        find_company("Nowhere Nett")


def test_the_tariff_valid_on_each_date() -> None:
    elvia = find_company("Elvia")
    for day, day_rate, step_2_5 in [
        (date(2024, 12, 31), 0.2456, 184.0),
        (date(2025, 1, 1), 0.2321, 172.0),
        (date(2026, 6, 30), 0.2099, 152.0),
        (date(2026, 7, 1), 0.2899, 200.0),
    ]:
        t = tariff_on(elvia, day)
        assert t.energy.bands[0].price_per_kwh == pytest.approx(day_rate)
        assert t.capacity.price_per_month[1] == pytest.approx(step_2_5)
    with pytest.raises(ValueError, match="no husholdning tariff valid on 2020-01-01"):
        tariff_on(elvia, date(2020, 1, 1))


def test_other_capacity_methods_keep_their_rules() -> None:
    alut = tariff_on(find_company("Alut"), date(2026, 1, 1))
    assert alut.capacity.method == "OV_TREFASE"
    assert alut.capacity.price_for(125) == pytest.approx(3500 / 12)  # exactly 125 A: not inclusive
    assert alut.capacity.price_for(160) == pytest.approx(4500 / 12)
    assert tariff_on(find_company("Fjellnett"), date(2026, 1, 1)).capacity.method == "FEM_VEKTET_ÅR"
    assert tariff_on(find_company("Sør-Aurdal"), date(2026, 1, 1)).capacity.method == "MND_MAX"


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2026-01-15T06:00", "Virkedag"),  # Thursday
        ("2026-01-15T21:59", "Virkedag"),
        ("2026-01-15T22:00", "grunnpris"),
        ("2026-01-17T12:00", "grunnpris"),  # Saturday
        ("2026-05-14T12:00", "grunnpris"),  # Ascension Day (Thursday)
        ("2026-05-17T12:00", "grunnpris"),  # Constitution Day
        ("2026-04-02T12:00", "grunnpris"),  # Maundy Thursday
        ("2026-12-24T12:00", "Virkedag"),  # Christmas Eve is not a public holiday
    ],
)
def test_elvia_day_night_weekend_holiday_bands(when: str, expected: str) -> None:
    t = tariff_on(find_company("Elvia"), date(2026, 1, 1))
    assert t.energy.band_at(datetime.fromisoformat(when), "NO")[0] == expected


def test_seasonal_friday_surcharge_of_griug() -> None:
    t = tariff_on(find_company("Griug"), date(2024, 1, 1))  # Friday 16-21, Oct-Mar
    names = {b.name for b in t.energy.bands}
    assert "Brukstidstillegg" in names
    band = next(b for b in t.energy.bands if b.name == "Brukstidstillegg")
    assert band.days == ("fredag",) and 1 in band.months and 7 not in band.months
    assert t.energy.band_at(datetime(2024, 1, 19, 17, tzinfo=OSLO), "NO")[0] == "Brukstidstillegg"  # Friday
    assert t.energy.band_at(datetime(2024, 1, 18, 17, tzinfo=OSLO), "NO")[0] == "grunnpris"  # Thursday
    assert t.energy.band_at(datetime(2024, 5, 17, 17, tzinfo=OSLO), "NO")[0] == "grunnpris"  # May


def test_hours_days_and_months() -> None:
    assert parse_hours("6-21") == frozenset(range(6, 22))
    assert parse_hours("22-5") == frozenset([22, 23, 0, 1, 2, 3, 4, 5])
    assert parse_hours("7,19-22") == frozenset([7, 19, 20, 21, 22])
    assert parse_hours(None) == frozenset(range(24))
    for bad in ("6-24", "a-b", "1-2-3"):
        with pytest.raises(ValueError, match="hours"):
            parse_hours(bad)
    assert parse_months(["januar", "desember"]) == frozenset([1, 12])
    with pytest.raises(ValueError, match="month 'jan'"):
        parse_months(["jan"])
    assert day_matches("fridag", date(2026, 5, 1), "NO")  # Labour Day
    assert day_matches("virkedag", date(2026, 5, 4), "NO")
    assert not day_matches("ukedag", date(2026, 5, 2), "NO")
    with pytest.raises(ValueError, match="unknown day kind 'someday'"):
        day_matches("someday", date(2026, 5, 2), "NO")


def test_italy_f1_f2_f3_preset() -> None:
    t = preset_bands("IT_F1F2F3", {"F1": 0.3, "F2": 0.25, "F3": 0.2})

    def band(when: str) -> str:
        return t.band_at(datetime.fromisoformat(when), "IT")[0]

    assert [band(f"2026-01-14T{h:02d}:30") for h in (6, 7, 8, 18, 19, 22, 23)] == [
        "F3", "F2", "F1", "F1", "F2", "F2", "F3",
    ]  # fmt: skip
    assert [band(f"2026-01-17T{h:02d}:00") for h in (6, 7, 22, 23)] == ["F3", "F2", "F2", "F3"]  # Sat
    assert band("2026-01-18T12:00") == "F3"  # Sunday
    assert band("2026-06-02T12:00") == "F3"  # Festa della Repubblica, a Tuesday
    with pytest.raises(ValueError, match="missing \\['F3'\\]"):
        preset_bands("IT_F1F2F3", {"F1": 0.3, "F2": 0.25})


def test_norwegian_charges_by_date_and_region() -> None:
    assert public_charges(date(2026, 2, 1), "standard").elavgift_per_kwh == pytest.approx(0.0713)
    assert public_charges(date(2025, 11, 1), "standard").elavgift_per_kwh == pytest.approx(0.1253)
    north = public_charges(date(2026, 2, 1), "north")
    assert (north.vat_rate, north.elavgift_per_kwh) == (0.0, pytest.approx(0.0713))
    assert public_charges(date(2026, 2, 1), "tiltakssonen").elavgift_per_kwh == 0.0
    assert public_charges(date(2027, 2, 1), "standard").carried_forward
    rule = stromstotte(date(2026, 2, 1))
    assert rule is not None and rule.support_per_kwh(1.0) == pytest.approx(-0.207)
    assert rule.support_per_kwh(0.5) == 0.0
    assert stromstotte(date(2030, 1, 1)) is None
    assert norgespris(date(2025, 9, 30)) is None
    np = norgespris(date(2026, 1, 1), holiday_home=True)
    assert np is not None and (np.price_per_kwh, np.cap_kwh_per_month) == (0.40, 1000.0)
