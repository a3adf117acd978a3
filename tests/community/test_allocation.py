"""Allocation keys on the hand-checked three-participant day, and exact sums for any input.

The day (docs/community.md, "A day by hand"): consumers a, b, c use 300, 200 and 100 Wh every
quarter-hour; the roof produces 300 Wh at 10:00 (less than the 600 Wh consumed), 1000 Wh at 12:00
(more) and 401 Wh at 14:00 (a split that does not divide evenly), nothing else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest
from community_testing import DAY_CONSUMPTION, DAY_PRODUCTION, Community, bill_json, by_local_hour
from hypothesis import given, settings
from hypothesis import strategies as st

from community.allocation import Rule, allocate, allocate_slot, apportion
from community.series import Period

C = [300, 200, 100]
F = Fraction


def test_apportion_gives_remainders_to_the_largest_fractions_then_to_the_first() -> None:
    assert apportion(401, [300, 200, 100]) == [200, 134, 67]  # 200.5, 133.67, 66.83
    assert apportion(1000, [1, 1, 1]) == [334, 333, 333]  # a tie: the first listed gets the Wh
    assert apportion(2, [1, 1, 1]) == [1, 1, 0]
    assert apportion(0, [1, 2]) == [0, 0] and apportion(5, [0, 0]) == [0, 0]
    with pytest.raises(ValueError):
        apportion(-1, [1])


# key, slot production → (a, b, c) as computed by hand
HAND = {
    "prorata": {300: [150, 100, 50], 1000: [300, 200, 100], 401: [200, 134, 67]},
    # shares a 0.5, b 0.3, c 0.2
    "static": {300: [150, 90, 60], 1000: [300, 200, 100], 401: [201, 120, 80]},
    # shares a 0.2, b 0.3, c 0.5: c cannot absorb 150 at 10:00, so 50 is surplus ...
    "static-low-c": {300: [60, 90, 100], 1000: [200, 200, 100], 401: [80, 120, 100]},
    # ... or, redistributed to a and b by their shares 0.2 : 0.3 (20 and 30 Wh)
    "static-redistribute": {300: [80, 120, 100], 1000: [300, 200, 100], 401: [120, 181, 100]},
    # a third each, capped: 1000 → 334/333/333 → 300/200/100; 401 → 134/134/133 → c keeps 100
    "equal": {300: [100, 100, 100], 1000: [300, 200, 100], 401: [134, 134, 100]},
    # a first (priority 1), then b and c pro rata (priority 2)
    "cascade": {300: [300, 0, 0], 1000: [300, 200, 100], 401: [300, 67, 34]},
}
RULES = {
    "prorata": Rule("prorata"),
    "static": Rule("static", shares=(F(1, 2), F(3, 10), F(1, 5))),
    "static-low-c": Rule("static", shares=(F(1, 5), F(3, 10), F(1, 2))),
    "static-redistribute": Rule("static", redistribute=True, shares=(F(1, 5), F(3, 10), F(1, 2))),
    "equal": Rule("equal"),
    "cascade": Rule("cascade", priorities=(1, 2, 2)),
}


@pytest.mark.parametrize("name", sorted(HAND))
def test_each_key_on_the_hand_checked_slots(name: str) -> None:
    for production, expected in HAND[name].items():
        got = allocate_slot(production, C, RULES[name])
        assert got == expected, f"{name} at {production} Wh"
        assert all(g <= c for g, c in zip(got, C, strict=True))  # nobody gets more than they used


@pytest.mark.parametrize("name", sorted(HAND))
def test_the_whole_day_adds_up_to_the_hand_figures(name: str) -> None:
    period = Period.month("2025-06", "Europe/Paris")
    day = list(range(96))  # 1 June 2025, a 96-quarter-hour day
    prod = [by_local_hour(period, DAY_PRODUCTION)[i] for i in day]
    cons = {k: [v] * 96 for k, v in DAY_CONSUMPTION.items()}
    a = allocate(RULES[name], period.start, 15, cons, {"roof": prod})
    assert a.violations() == []
    for i, pid in enumerate("abc"):
        assert sum(a.allocated[pid]) == sum(v[i] for v in HAND[name].values())
        assert sum(a.shared[pid]) + sum(a.grid_supply[pid]) == 96 * DAY_CONSUMPTION[pid]
    surplus = 1701 - sum(sum(HAND[name][p]) for p in (300, 1000, 401))
    assert sum(a.producer_surplus["roof"]) == surplus == sum(a.to_grid)


def test_norway_distributes_everything_hourly_and_participants_export_the_rest() -> None:
    """Deling: hour 12 produces 3000 Wh; consumption per hour a 1200, b 800, c 400 Wh."""
    period = Period.month("2025-06", "Europe/Oslo")
    prod = [0] * 96
    prod[48:52] = [750] * 4  # 3000 Wh in the hour from 12:00 local (hour 12 of the day)
    cons = {k: [v] * 96 for k, v in DAY_CONSUMPTION.items()}
    a = allocate(Rule("equal", cap=False), period.start, 60, cons, {"roof": prod})
    assert a.violations() == [] and len(a.slots) == 24
    h = 12
    assert [a.allocated[p][h] for p in "abc"] == [1000, 1000, 1000]
    assert [a.shared[p][h] for p in "abc"] == [1000, 800, 400]
    assert [a.export[p][h] for p in "abc"] == [0, 200, 600]
    assert a.producer_surplus["roof"][h] == 0  # the producer sells nothing itself
    volume = allocate(Rule("prorata", cap=False), period.start, 60, cons, {"roof": prod})
    assert [volume.allocated[p][h] for p in "abc"] == [1500, 1000, 500]  # 3 : 2 : 1
    assert [volume.export[p][h] for p in "abc"] == [300, 200, 100]


def test_italy_shares_the_hourly_minimum_of_injection_and_withdrawal() -> None:
    period = Period.month("2025-06", "Europe/Rome")
    prod = [0] * 96
    prod[40:44] = [1000, 1000, 1000, 0]  # 3000 Wh in one hour against 2400 Wh withdrawn
    prod[44:48] = [0, 0, 0, 600]  # the next hour: 600 Wh, though it all lands in one quarter-hour
    cons = {k: [v] * 96 for k, v in DAY_CONSUMPTION.items()}
    a = allocate(Rule("prorata"), period.start, 60, cons, {"roof": prod}, virtual=True)
    assert a.violations() == []
    assert [a.allocated[p][10] for p in "abc"] == [1200, 800, 400]  # min(3000, 2400) = 2400
    assert a.producer_shared["roof"][10] == 2400 and a.producer_surplus["roof"][10] == 600
    assert [a.allocated[p][11] for p in "abc"] == [300, 200, 100]  # hourly: 600 is all shared


def test_a_consumer_with_share_zero_leaves_italys_shared_energy_undistributed() -> None:
    period = Period.month("2025-06", "Europe/Rome")
    cons = {"a": [100] * 96, "b": [100] * 96}
    rule = Rule("static", shares=(F(1), F(0)))
    a = allocate(rule, period.start, 60, cons, {"roof": [100] * 96}, virtual=True)
    assert a.allocated["a"][0] == 400 and a.allocated["b"][0] == 0 and a.undistributed[0] == 0
    a = allocate(rule, period.start, 60, cons, {"roof": [200] * 96}, virtual=True)
    assert a.allocated["a"][0] == 400 and a.undistributed[0] == 400  # b's consumption shared, not given
    assert a.violations() == []


wh = st.integers(min_value=0, max_value=5000)


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    n=st.integers(min_value=1, max_value=5),
    key=st.sampled_from(["prorata", "static", "equal", "cascade"]),
    cap=st.booleans(),
    redistribute=st.booleans(),
    virtual=st.booleans(),
    minutes=st.sampled_from([15, 60]),
)
def test_sums_are_exact_to_the_wh_for_any_input(
    data: st.DataObject, n: int, key: str, cap: bool, redistribute: bool, virtual: bool, minutes: int
) -> None:
    slots = 8
    cons = {f"p{i}": data.draw(st.lists(wh, min_size=slots, max_size=slots)) for i in range(n)}
    inj = {f"r{j}": data.draw(st.lists(wh, min_size=slots, max_size=slots)) for j in range(2)}
    raw = data.draw(st.lists(st.integers(0, 10), min_size=n, max_size=n).filter(lambda w: sum(w) > 0))
    shares = tuple(F(w, sum(raw)) for w in raw)
    prios = tuple(data.draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
    if key == "cascade" or virtual:
        cap = True
    rule = Rule(key, cap=cap, redistribute=redistribute, shares=shares, priorities=prios)
    a = allocate(rule, datetime(2025, 6, 1, tzinfo=UTC), minutes, cons, inj, virtual=virtual)
    assert a.violations() == []
    for i in range(len(a.slots)):
        p = sum(v[i] for v in a.injection.values())
        c = sum(v[i] for v in a.consumption.values())
        given_ = sum(v[i] for v in a.allocated.values())
        if virtual:
            assert given_ + a.undistributed[i] == min(p, c)
        elif cap:
            assert given_ <= min(p, c)
            if key == "prorata" or (key == "static" and redistribute and all(shares)):
                assert given_ == min(p, c)  # nothing is left while someone still consumes
        else:
            assert given_ == p  # Norway: all production is distributed
    total_in = sum(map(sum, a.injection.values()))
    assert total_in == sum(map(sum, a.producer_shared.values())) + sum(map(sum, a.producer_surplus.values()))


@pytest.mark.parametrize(
    ("key", "extra", "expected"),
    [
        ("prorata", {}, {"a": 650, "b": 434, "c": 217}),
        ("cascade", {}, {"a": 900, "b": 267, "c": 134}),
        ("equal", {}, {"a": 534, "b": 434, "c": 300}),
    ],
)
def test_a_month_of_hand_checked_days_through_the_command(
    community: Community, hems, key: str, extra: dict, expected: dict[str, int]
) -> None:
    community.day_fixture(key, **extra)
    if key == "cascade":
        community.participants[0] += "priority = 1\n"
        community.participants[1] += "priority = 2\n"
        community.participants[2] += "priority = 2\n"
    doc = bill_json(hems, community.write())
    assert doc["status"] == "billed"
    got = {p["id"]: p for p in doc["participants"]}
    for pid, per_day in expected.items():
        assert got[pid]["allocated_wh"] == 30 * per_day  # June: 30 identical days
        shared_cost = got[pid]["lines"][0]
        assert shared_cost["amount"] == f"{30 * per_day * 0.12 / 1000:.2f}"
    t = doc["totals"]
    assert t["production_wh"] == 30 * 1701
    assert t["shared_wh"] + t["to_grid_wh"] == t["production_wh"]
    assert t["shared_wh"] == 30 * sum(expected.values())
