"""Months with a DST change: 92- and 100-quarter-hour days, wall-clock CSVs, exact monthly sums."""

from __future__ import annotations

from pathlib import Path

import pytest
from community_testing import DAY_CONSUMPTION, Community, bill_json, by_local_hour, write_csv

from community.series import Period


def test_dst_months_have_the_right_number_of_quarter_hours() -> None:
    march, october = Period.month("2025-03", "Europe/Paris"), Period.month("2025-10", "Europe/Paris")
    assert len(march) == 31 * 96 - 4 and len(october) == 31 * 96 + 4
    assert [n for d, _, n in march.days() if d.day == 30] == [92]
    assert [n for d, _, n in october.days() if d.day == 26] == [100]
    assert sum(n for _, _, n in october.days()) == len(october)


@pytest.mark.parametrize(("month", "slots"), [("2025-03", 2972), ("2025-10", 2980)])
def test_a_dst_month_is_billed_exactly(tmp_path: Path, hems, month: str, slots: int) -> None:
    c = Community(tmp_path, month)
    c.day_fixture()
    doc = bill_json(hems, c.write(), month)
    assert doc["status"] == "billed", doc["conformity"]
    bills = {p["id"]: p for p in doc["participants"]}
    for pid, wh in DAY_CONSUMPTION.items():
        assert bills[pid]["consumption_wh"] == slots * wh
        assert bills[pid]["shared_wh"] + bills[pid]["grid_supply_wh"] == slots * wh
    assert doc["totals"]["production_wh"] == 31 * 1701  # the short and long days still have 10, 12, 14h
    # the grid supply is billed for every quarter-hour, the short/long day included: 0.24 EUR/kWh
    a = bills["a"]
    assert a["lines"][1]["amount"] == f"{a['grid_supply_wh'] * 0.24 / 1000:.2f}"


def _wall_clock_october(tmp_path: Path, drop_repeated: bool) -> tuple[Community, Path]:
    c = Community(tmp_path, "2025-10")
    c.day_fixture()
    members = c.write()
    # b's meter writes local wall-clock times without an offset
    write_csv(tmp_path / "b.csv", c.period.slots, [200] * len(c.period), naive_tz="Europe/Paris")
    if drop_repeated:  # a meter that keeps only one 02:00-02:59 on the day clocks go back
        lines = (tmp_path / "b.csv").read_text().splitlines()
        seen: set[str] = set()
        kept = []
        for ln in lines:
            stamp = ln.split(",")[0]
            if stamp.startswith("2025-10-26T02:") and stamp in seen:
                continue
            seen.add(stamp)
            kept.append(ln)
        (tmp_path / "b.csv").write_text("\n".join(kept) + "\n")
    return c, members


def test_wall_clock_times_take_the_repeated_hour_in_file_order(tmp_path: Path, hems) -> None:
    _, members = _wall_clock_october(tmp_path, drop_repeated=False)
    doc = bill_json(hems, members, "2025-10")
    assert doc["status"] == "billed" and doc["conformity"]["findings"] == []
    assert next(p for p in doc["participants"] if p["id"] == "b")["consumption_wh"] == 2980 * 200


def test_a_meter_that_lost_the_repeated_hour_is_named_on_that_day(tmp_path: Path, hems) -> None:
    _, members = _wall_clock_october(tmp_path, drop_repeated=True)
    doc = bill_json(hems, members, "2025-10")
    assert doc["status"] == "refused"
    found = {f["check"]: f for f in doc["conformity"]["findings"]}
    assert found["gap"]["participant"] == "b"
    assert found["gap"]["slot_local"] == "2025-10-26 02:00+01:00"  # the second 02:00, winter time
    assert found["gap"]["slots"] == 4
    assert found["dst"]["participant"] == "b" and found["dst"]["slot_local"] == "2025-10-26 00:00+02:00"
    assert "2025-10-26 has 96 quarter-hours, the day has 100" in found["dst"]["message"]


def test_a_time_that_does_not_exist_in_spring_is_named(tmp_path: Path, hems) -> None:
    c = Community(tmp_path, "2025-03")
    c.day_fixture()
    members = c.write()
    write_csv(tmp_path / "c.csv", c.period.slots, [100] * len(c.period), naive_tz="Europe/Paris")
    text = (tmp_path / "c.csv").read_text()
    text = text.replace("2025-03-30T03:00:00,100\n", "2025-03-30T02:30:00,100\n2025-03-30T03:00:00,100\n")
    (tmp_path / "c.csv").write_text(text)
    doc = bill_json(hems, members, "2025-03")
    [dst] = [f for f in doc["conformity"]["findings"] if f["check"] == "dst"]
    assert dst["participant"] == "c" and dst["severity"] == "error"
    assert "2025-03-30T02:30:00 does not exist in Europe/Paris" in dst["message"]
    assert "c.csv:" in dst["message"]  # with the line


def test_norway_settles_the_short_day_by_the_hour(tmp_path: Path, hems) -> None:
    c = Community(tmp_path, "2025-03", "Europe/Oslo")
    c.community.update({"scheme": "no", "key": "equal", "price_per_kwh": 0.5})
    c.community.pop("surplus_price_per_kwh")
    tariff = 'tariff = { spot = false, base_price_per_kwh = 1.0, support_scheme = "none" }'
    for pid, wh in DAY_CONSUMPTION.items():
        c.consumer(pid, wh, tariff=tariff)
    c.producer("roof", by_local_hour(c.period, {(12, m): 1500 for m in (0, 15, 30, 45)}))
    doc = bill_json(hems, c.write(), "2025-03")
    assert doc["status"] == "billed", doc["conformity"]
    assert doc["community"]["settlement_minutes"] == 60
    bills = {p["id"]: p for p in doc["participants"]}
    # 6000 Wh in the noon hour, 2000 each: a uses 1200 an hour (800 exported), b 800, c 400
    assert bills["a"]["allocated_wh"] == 31 * 2000
    assert bills["c"]["export_wh"] == 31 * 1600 and bills["b"]["export_wh"] == 31 * 1200
    assert bills["a"]["export_wh"] == 31 * 800
    assert sum(b["allocated_wh"] for b in bills.values() if b["role"] == "consumer") == 31 * 6000
