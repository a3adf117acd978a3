"""Conformity before any bill: every failure is named with its participant and its slot."""

from __future__ import annotations

from pathlib import Path

from community_testing import KEYS, Community, bill, bill_json, by_local_hour, write_csv

REFUSED = 3


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _find(doc: dict, check: str) -> list[dict]:
    return [f for f in doc["conformity"]["findings"] if f["check"] == check]


def _day(community: Community) -> Path:
    community.day_fixture()
    return community.write()


def test_a_gap_refuses_the_bill_and_names_the_participant_and_the_slots(community: Community, hems) -> None:
    members = _day(community)
    csv = community.root / "b.csv"
    lines = csv.read_text().splitlines()
    kept = [ln for ln in lines if not ln.startswith(("2025-06-03T08:", "2025-06-03T09:00"))]  # UTC
    csv.write_text("\n".join(kept) + "\n")
    status, out, _ = bill(hems, members)
    assert status == REFUSED
    assert "BILL REFUSED" in out
    doc = bill_json(hems, members)
    assert doc["status"] == "refused" and "participants" not in doc
    [gap] = _find(doc, "gap")
    assert gap["participant"] == "b" and gap["severity"] == "error"
    assert gap["slot_local"] == "2025-06-03 10:00+02:00" and gap["slots"] == 5
    assert "to 2025-06-03 11:15+02:00" in gap["message"]


def test_duplicates_negative_impossible_and_garbage_are_each_named(community: Community, hems) -> None:
    community.day_fixture()
    community.participants[0] += "max_power_kw = 10\n"  # a: 2500 Wh a quarter-hour at most
    members = community.write()
    a, c = community.root / "a.csv", community.root / "c.csv"
    _edit(
        a, "2025-06-05T06:15:00+00:00,300\n", "2025-06-05T06:15:00+00:00,300\n2025-06-05T06:15:00+00:00,310\n"
    )
    _edit(a, "2025-06-06T06:00:00+00:00,300", "2025-06-06T06:00:00+00:00,3000")
    _edit(c, "2025-06-07T05:00:00+00:00,100", "2025-06-07T05:00:00+00:00,-5")
    _edit(c, "2025-06-08T05:00:00+00:00,100", "2025-06-08T05:00:00+00:00,lots")
    doc = bill_json(hems, members)
    assert doc["status"] == "refused"
    [dup] = _find(doc, "duplicate")
    assert (dup["participant"], dup["slot_local"]) == ("a", "2025-06-05 08:15+02:00")
    assert "300 Wh at" in dup["message"] and "310 Wh at" in dup["message"] and "a.csv:" in dup["message"]
    [imp] = _find(doc, "impossible")
    assert (imp["participant"], imp["slot_local"]) == ("a", "2025-06-06 08:00+02:00")
    assert "3000 Wh" in imp["message"]
    [neg] = _find(doc, "negative")
    assert (neg["participant"], neg["slot_local"]) == ("c", "2025-06-07 07:00+02:00")
    [fmt] = _find(doc, "format")
    assert fmt["participant"] == "c" and fmt["slot_local"] == "2025-06-08 07:00+02:00"
    assert "'lots' is not a number" in fmt["message"]


def test_the_same_value_twice_is_a_warning_and_the_bill_is_made(community: Community, hems) -> None:
    members = _day(community)
    _edit(community.root / "a.csv", "2025-06-05T06:15:00+00:00,300\n",
          "2025-06-05T06:15:00+00:00,300\n2025-06-05T06:15:00+00:00,300\n")  # fmt: skip
    doc = bill_json(hems, members)
    assert doc["status"] == "billed"
    [dup] = _find(doc, "duplicate")
    assert dup["severity"] == "warning" and dup["participant"] == "a"
    assert next(p for p in doc["participants"] if p["id"] == "a")["consumption_wh"] == 30 * 96 * 300


def _main_meter(community: Community, offset_slot: int | None, policy: str | None = None) -> Path:
    community.day_fixture()
    period = community.period
    prod = by_local_hour(period, {(10, 0): 300, (12, 0): 1000, (14, 0): 401})
    net = [600 - p for p in prod]
    imports = [max(n, 0) for n in net]
    exports = [max(-n, 0) for n in net]
    if offset_slot is not None:
        imports[offset_slot] += 800
    community.series("main_import.csv", imports)
    community.series("main_export.csv", exports)
    community.community["main_meter"] = "main_import.csv"
    community.community["main_meter_export"] = "main_export.csv"
    if policy:
        community.extra.append(f'[conformity]\nmain_meter = "{policy}"\n')
    return community.write()


def test_the_main_meter_agrees_with_the_participants(community: Community, hems) -> None:
    doc = bill_json(hems, _main_meter(community, None))
    assert doc["status"] == "billed" and _find(doc, "main-meter") == []


def test_a_main_meter_mismatch_refuses_or_warns_as_configured(community: Community, hems, tmp_path) -> None:
    slot = 4 * 24 * 9 + 4 * 10  # the month starts at local midnight: 10 June, 10:00 local
    doc = bill_json(hems, _main_meter(community, slot))
    assert doc["status"] == "refused"
    [mm] = _find(doc, "main-meter")
    assert mm["participant"] == "main-meter" and mm["slot_local"] == "2025-06-10 10:00+02:00"
    assert "difference +800 Wh" in mm["message"] and mm["severity"] == "error"
    warned = Community(tmp_path / "w")
    (tmp_path / "w").mkdir()
    doc = bill_json(hems, _main_meter(warned, slot, "warn"))
    assert doc["status"] == "billed" and _find(doc, "main-meter")[0]["severity"] == "warning"


def _with_operator(community: Community, extra_conformity: str = "") -> Path:
    community.day_fixture()
    dso = [300] * len(community.period)
    dso[100] = 250  # the grid operator measured 50 Wh less than the box at 2 June 03:00 local
    del dso[200]  # ... and has no value at all for one slot (the file just lacks the row)
    slots = list(community.period.slots)
    del slots[200]
    write_csv(community.root / "a_dso.csv", slots, dso)
    community.participants[0] += 'consumption_grid_operator = "a_dso.csv"\n'
    if extra_conformity:
        community.extra.append(f"[conformity]\n{extra_conformity}\n")
    return community.write()


def test_local_box_and_grid_operator_disagree_the_grid_operator_bills(community: Community, hems) -> None:
    members = _with_operator(community)
    doc = bill_json(hems, members)
    assert doc["status"] == "refused"  # the grid operator has a gap: its figure is missing
    [gap] = _find(doc, "gap")
    assert gap["participant"] == "a" and gap["source"] == "grid operator"
    assert gap["slot_utc"] == community.period.slots[200].isoformat()
    [diff] = _find(doc, "arbitration")
    assert diff["participant"] == "a" and diff["slot_utc"] == community.period.slots[100].isoformat()
    assert "local box 300 Wh, grid operator 250 Wh" in diff["message"] and "+50 Wh" in diff["message"]


def test_filling_the_grid_operators_gap_from_the_box_is_stated(community: Community, hems) -> None:
    members = _with_operator(community, "fill_gaps_from_local = true")
    doc = bill_json(hems, members)
    assert doc["status"] == "billed"
    a = next(p for p in doc["participants"] if p["id"] == "a")
    assert a["consumption_wh"] == 30 * 96 * 300 - 50  # the grid operator's 250 bills, the box fills the gap
    assert any(
        "billed on the grid operator's figures, the local box's where it had none" in n for n in a["notes"]
    )
    checks = {(f["check"], f["severity"]) for f in doc["conformity"]["findings"]}
    assert ("arbitration", "warning") in checks and ("gap", "warning") in checks
    # the difference is reported to both: the participant and the grid operator see it ...
    for who, key in (("a", KEYS["a"]), ("grid-operator", KEYS["dso"])):
        seen = bill_json(hems, members, "2025-06", "--as", who, key=key)
        assert any(
            f["check"] == "arbitration" and f["participant"] == "a" for f in seen["conformity"]["findings"]
        )
    # ... and nobody else
    other = bill_json(hems, members, "2025-06", "--as", "b", key=KEYS["b"])
    assert other["conformity"]["findings"] == []


def test_an_unreadable_file_is_a_finding_not_a_traceback(community: Community, hems) -> None:
    members = _day(community)
    (community.root / "c.csv").unlink()
    doc = bill_json(hems, members)
    [src] = _find(doc, "source")
    assert src["participant"] == "c" and "c.csv" in src["message"] and src["severity"] == "error"
    (community.root / "c.csv").write_text("when,what\n1,2\n")
    doc = bill_json(hems, members)
    assert "no time column" in _find(doc, "source")[0]["message"]
