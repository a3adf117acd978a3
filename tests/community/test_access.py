"""Who sees what: a participant only their own bill and series, the producer the totals, the grid
operator the exchanges with the grid; keys are checked against hashes in the members file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from community_testing import KEYS, Community, bill, bill_json

from community.access import AccessDenied, hash_key, resolve_viewer, verify_key
from community.members import load_members


@pytest.fixture
def members(community: Community) -> Path:
    community.day_fixture()
    return community.write()


def test_a_participant_sees_only_their_own_bill(members: Path, hems, tmp_path: Path) -> None:
    doc = bill_json(hems, members, "2025-06", "--as", "a", "--csv", str(tmp_path / "out"), key=KEYS["a"])
    assert doc["view"] == {"role": "participant", "participant": "a", "open": False}
    assert doc["bill"]["id"] == "a" and "participants" not in doc and "totals" not in doc
    text = json.dumps(doc)
    for other in ("b", "c", "roof"):
        assert f'"{other}"' not in text
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.csv"]
    header = (tmp_path / "out" / "a.csv").read_text().splitlines()[0]
    assert header == (
        "slot_utc,slot_local,consumption_wh,allocated_wh,grid_supply_wh,export_wh,shared_wh,"
        "shared_cost,grid_cost"
    )
    status, out, _ = bill(hems, members, "--as", "a", key=KEYS["a"])
    assert status == 0 and "a (consumer)" in out and "b (consumer)" not in out and "roof" not in out


def test_a_participant_cannot_read_another_participants_bill(members: Path, hems) -> None:
    for key in (KEYS["a"], KEYS["roof"], KEYS["dso"], "guess", None):
        status, out, err = bill(
            hems,
            members,
            "--as",
            "b",
            "--json",
            key=key,
        )
        assert status == 2 and out == ""
        assert err.count("\n") == 1 and "--as b" in err
    status, _, err = bill(hems, members, "--as", "nobody", key=KEYS["a"])
    assert status == 2 and "no participant 'nobody' with this key" in err  # same answer as a wrong key


def test_the_producer_sees_totals_and_its_revenue(members: Path, hems, tmp_path: Path) -> None:
    doc = bill_json(
        hems, members, "2025-06", "--as", "producer", "--csv", str(tmp_path / "p"), key=KEYS["roof"]
    )
    assert doc["view"]["role"] == "producer" and doc["bill"]["id"] == "roof"
    assert doc["totals"]["production_wh"] == 30 * 1701 and "participants" not in doc
    assert not any(f'"{p}"' in json.dumps(doc) for p in "abc")
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["community.csv", "roof.csv"]
    same = bill_json(hems, members, "2025-06", "--as", "roof", key=KEYS["roof"])
    assert same["view"]["role"] == "producer"


def test_the_grid_operator_sees_exchanges_and_no_money(members: Path, hems, tmp_path: Path) -> None:
    doc = bill_json(
        hems, members, "2025-06", "--as", "grid-operator", "--csv", str(tmp_path / "g"), key=KEYS["dso"]
    )
    assert doc["view"]["role"] == "grid-operator"
    points = {p["id"]: p for p in doc["metering_points"]}
    assert points["a"]["grid_supply_wh"] == 30 * 96 * 300 - 30 * 650
    assert points["roof"]["surplus_wh"] == 30 * 400
    assert doc["exchanges"] == {"from_grid_wh": 30 * (96 * 600 - 1301), "to_grid_wh": 30 * 400}
    text = json.dumps(doc)
    assert '"amount"' not in text and '"total"' not in text and "price" not in text
    header = (tmp_path / "g" / "a.csv").read_text().splitlines()[0]
    assert "cost" not in header and "grid_supply_wh" in header


def test_an_organiser_key_closes_the_full_view(community: Community, hems) -> None:
    community.day_fixture()
    community.extra.append("organiser")
    members = community.write()
    status, _, err = bill(hems, members)
    assert status == 2 and "organiser's key" in err
    doc = bill_json(hems, members, key=KEYS["org"])
    assert doc["view"] == {"role": "organiser", "participant": None, "open": False}
    assert len(doc["participants"]) == 4


def test_a_refused_month_tells_a_participant_only_about_their_own_data(members: Path, hems) -> None:
    csv = members.parent / "b.csv"
    csv.write_text(csv.read_text().replace("2025-06-02T10:00:00+00:00,200", "2025-06-02T10:00:00+00:00,-1"))
    doc = bill_json(hems, members, "2025-06", "--as", "a", key=KEYS["a"])
    assert doc["status"] == "refused"
    assert doc["conformity"]["findings"] == [] and doc["conformity"]["errors_elsewhere"] == 1
    assert "bill" not in doc


def test_keys_are_stored_as_hashes(members: Path, hems) -> None:
    status, out, _ = hems("community", "key")
    key = out.splitlines()[0].split(": ")[1]
    stored = out.splitlines()[1].split('"')[1]
    assert status == 0 and key not in stored and verify_key(key, stored) and not verify_key(key + "x", stored)
    m, _ = load_members(members)
    assert resolve_viewer(m, "a", KEYS["a"]).participant == "a"
    with pytest.raises(AccessDenied):
        resolve_viewer(m, "a", KEYS["b"])
    assert hash_key("k", salt=b"0" * 16) == hash_key("k", salt=b"0" * 16) != hash_key("k")
    text = members.read_text().replace('key_hash = "scrypt', 'key_hash = "plain', 1)
    members.write_text(text)
    status, _, err = bill(hems, members)
    assert status == 2 and "members.toml: grid_operator.key_hash: " in err and "never holds a key" in err
