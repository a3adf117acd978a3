"""Bills: shared energy at the community price, grid supply through tariffs' cost(), producers'
revenue, Italy's CER incentive and Norway's sharing within a property."""

from __future__ import annotations

from pathlib import Path

from community_testing import DAY_CONSUMPTION, DAY_PRODUCTION, Community, bill_json, by_local_hour

from community.allocation import resample
from tariffs.config import TariffConfig
from tariffs.cost import cost
from tariffs.household import household_tariff
from tariffs.series import EnergySeries


def _lines(bill: dict) -> dict[str, str]:
    return {ln["label"].split(" (")[0]: ln["amount"] for ln in bill["lines"]}


def test_france_bill_by_hand(community: Community, hems) -> None:
    community.day_fixture()
    doc = bill_json(hems, community.write())
    bills = {p["id"]: p for p in doc["participants"]}
    a = bills["a"]  # 650 Wh a day shared, 30 days: 19.5 kWh at 0.12; the rest at 0.20 + 20 % VAT
    assert _lines(a) == {
        "locally shared energy at the community price": "2.34",
        "grid supply: energy at your tariff": "202.68",  # 844.5 kWh x 0.24
    }
    assert (a["total"], a["without_community"], a["saving"]) == ("205.02", "207.36", "2.34")
    roof = bills["roof"]  # 39.03 kWh shared at 0.12, 12 kWh surplus at 0.04
    assert _lines(roof) == {"energy shared in the community": "-4.68", "surplus to the grid": "-0.48"}
    assert roof["total"] == "-5.16"
    # what the consumers pay for shared energy is what the producer receives
    paid = sum(float(_lines(bills[p])["locally shared energy at the community price"]) for p in "abc")
    assert abs(paid - 4.68) < 0.015  # each line is rounded to the cent


def test_spot_tariffs_use_the_price_file_and_say_when_it_is_missing(community: Community, hems) -> None:
    spot = "tariff = { spot = true, supplier_markup_per_kwh = 0.05, vat_rate = 0.2 }"
    for pid, wh in DAY_CONSUMPTION.items():
        community.consumer(pid, wh, tariff=spot)
    community.producer("roof", by_local_hour(community.period, DAY_PRODUCTION))
    members = community.write()
    doc = bill_json(hems, members)
    a = next(p for p in doc["participants"] if p["id"] == "a")
    assert any("no spot prices given" in n for n in a["notes"])
    assert _lines(a)["grid supply: energy at your tariff"] == "50.67"  # markup only: 844.5 kWh x 0.05 x 1.2
    hours = [t for t in community.period.slots if t.minute == 0]
    prices = ["start,price_eur_per_mwh"] + [f"{t.isoformat()},100" for t in hours]
    (community.root / "prices.csv").write_text("\n".join(prices) + "\n")
    doc = bill_json(hems, members, "2025-06", "--prices", str(community.root / "prices.csv"))
    a = next(p for p in doc["participants"] if p["id"] == "a")
    assert _lines(a)["grid supply: energy at your tariff"] == "152.01"  # 844.5 kWh x (0.10 + 0.05) x 1.2
    assert not any("spot" in n for n in a["notes"])


def test_italy_cer_incentive_by_hand(community: Community, hems) -> None:
    community.community = {"name": "CER Bergamo", "scheme": "it"}
    community.day_fixture()
    community.participants[-1] += "plant_kw = 50\n"
    community.extra.append(
        '[italy]\nregion = "Lombardia"\nvalorisation_per_kwh = 0.008\n'
        'valorisation_source = "ARERA, as given for the test"\n'
    )
    hours = [t for t in community.period.slots if t.minute == 0]
    prices = ["start,price_eur_per_mwh"] + [f"{t.isoformat()},100" for t in hours]
    (community.root / "pz.csv").write_text("\n".join(prices) + "\n")
    community.community["prices"] = "pz.csv"
    doc = bill_json(hems, community.write())
    assert doc["status"] == "billed" and doc["community"]["settlement_minutes"] == 60
    bills = {p["id"]: p for p in doc["participants"]}
    # hourly shared energy per day: a 850, b 567, c 284 Wh; TIP = min(120, 80 + (180 - 100)) + 10
    # (Lombardia) = 130 EUR/MWh, plus 8 EUR/MWh valorisation: 0.138 EUR per shared kWh
    assert [bills[p]["allocated_wh"] for p in "abc"] == [30 * 850, 30 * 567, 30 * 284]
    assert [_lines(bills[p])["CER incentive: your share of the shared energy"] for p in "abc"] == [
        "-3.52",
        "-2.35",
        "-1.18",
    ]
    # every kWh is still bought at the member's own tariff: the grid bill is the whole consumption
    assert _lines(bills["a"])["grid supply: energy at your tariff"] == "207.36"
    assert bills["a"]["saving"] == "3.52"
    assert _lines(bills["roof"]) == {"injection sold at the hourly zonal price": "-5.10"}  # 51.03 kWh x 0.1
    inc = doc["incentive"]
    assert (inc["tip"], inc["valorisation"]) == ("6.63", "0.41")  # 51.03 kWh x 0.130 and x 0.008
    assert inc["earmarked_55pct"] == "2.99"  # 45 % of the shared energy is above 55 % of the injection
    assert any(n.startswith("TIP: DM MASE 7.12.2023 n. 414") for n in doc["notes"])


def test_italy_without_zonal_prices_shows_a_lower_bound(community: Community, hems) -> None:
    community.community = {"name": "CER", "scheme": "it"}
    community.day_fixture()
    community.participants[-1] += "plant_kw = 700\npv = false\n"
    community.extra.append('[italy]\nregion = "Sicilia"\n')
    doc = bill_json(hems, community.write())
    assert doc["incentive"]["tip"] == f"{51.03 * 0.060:.2f}"  # > 600 kW, fixed part only, no correction
    assert any("lower bound" in n for n in doc["notes"])
    assert any("valorisation_per_kwh not set" in n for n in doc["notes"])


def test_norway_sharing_bills_the_remainder_with_the_grid_companys_tariff(tmp_path: Path, hems) -> None:
    c = Community(tmp_path, "2025-06", "Europe/Oslo")
    c.community.update({"scheme": "no", "key": "static", "price_per_kwh": 0.4})
    c.community.pop("surplus_price_per_kwh")
    tariff = 'tariff = { grid_company = "Elvia", spot = false, support_scheme = "none" }'
    shares = {"a": "0.5", "b": "0.25", "c": "0.25"}
    for pid, wh in DAY_CONSUMPTION.items():
        c.consumer(pid, wh, extra=f"share = {shares[pid]}\n", tariff=tariff)
    roof = by_local_hour(c.period, {(12, m): 1500 for m in (0, 15, 30, 45)})
    c.producer("roof", roof, extra="peak_kw = 40\n")
    doc = bill_json(hems, c.write())
    assert doc["status"] == "billed", doc["conformity"]
    assert doc["community"]["currency"] == "NOK"
    b = {p["id"]: p for p in doc["participants"]}
    # noon hour: 6000 Wh split 3000 / 1500 / 1500 against 1200 / 800 / 400 consumed
    assert [b[p]["export_wh"] for p in "abc"] == [30 * 1800, 30 * 700, 30 * 1100]
    # the grid bill is exactly tariffs' cost() of consumption minus what was received, hour by hour
    cons = {p: resample([wh] * len(c.period), 60) for p, wh in DAY_CONSUMPTION.items()}
    got = {p: [1 if i % 24 == 10 else 0 for i in range(720)] for p in "abc"}  # 12:00 local = 10:00 UTC
    received = {"a": 3000, "b": 1500, "c": 1500}
    h = household_tariff(TariffConfig(grid_company="Elvia", spot=False, support_scheme="none"), country="NO")
    for p in "abc":
        net = [cc - received[p] * g for cc, g in zip(cons[p], got[p], strict=True)]
        energy = EnergySeries(
            c.period.start, 60, [max(v, 0) / 1000 for v in net], [max(-v, 0) / 1000 for v in net]
        )
        expected = cost(h, energy, None)
        lines = _lines(b[p])
        assert lines["grid supply: energy at your tariff"] == f"{sum(expected.import_cost):.2f}"
        assert lines["grid capacity part"] == f"{expected.capacity_cost:.2f}"
    assert _lines(b["roof"]) == {"energy shared in the community": f"{-30 * 6 * 0.4:.2f}"}


def test_norway_warns_when_the_plant_is_too_big_to_share(tmp_path: Path, hems) -> None:
    c = Community(tmp_path, "2025-06", "Europe/Oslo")
    c.community.update({"scheme": "no"})
    tariff = 'tariff = { spot = false, support_scheme = "none" }'
    for pid, wh in DAY_CONSUMPTION.items():
        c.consumer(pid, wh, tariff=tariff)
    c.producer("roof", by_local_hour(c.period, DAY_PRODUCTION), extra="peak_kw = 1500\n")
    doc = bill_json(hems, c.write())
    assert any("1500 kW exceeds the 1000 kW" in n for n in doc["notes"])


def test_a_prosumer_buys_and_sells_in_one_bill(community: Community, hems) -> None:
    community.day_fixture()
    community.series("d_cons.csv", [50] * len(community.period))
    community.series("d_inj.csv", by_local_hour(community.period, {(11, 0): 200}))
    community.participants.append(
        '[[participant]]\nid = "d"\nrole = "prosumer"\nconsumption = "d_cons.csv"\ninjection = "d_inj.csv"\n'
        "tariff = { spot = false, base_price_per_kwh = 0.20, vat_rate = 0.2 }\n"
    )
    doc = bill_json(hems, community.write())
    d = next(p for p in doc["participants"] if p["id"] == "d")
    # 11:00: 200 Wh against 650 consumed: pro rata 300/200/100/50 → d gets 15 of its own pool
    assert d["injection_wh"] == 30 * 200 and d["producer_shared_wh"] == 30 * 200
    labels = [ln["label"] for ln in d["lines"]]
    assert labels == [
        "locally shared energy at the community price",
        "grid supply: energy at your tariff",
        "energy shared in the community",
    ]
    assert doc["totals"]["production_wh"] == 30 * (1701 + 200)
