"""Receiving batches over TLS exactly as docs/telemetry.md says: stored once, acknowledged again,
refused whole with a reason, limited in size and rate."""

from __future__ import annotations

import copy
import gzip
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import Research, start
from research_testing import Uploader, batch, files_under, gz, household_id

from research.ingest.service import Limits
from research.serverdb import open_server_db
from research.store.released import released_connection

DAY = date(2026, 3, 2)


def stored(research: Research) -> list[tuple[Any, ...]]:
    with open_server_db(research.data) as db:
        return [tuple(r) for r in db.execute("SELECT batch_id, repeats FROM batches").fetchall()]


def test_a_batch_is_stored_once_and_a_resent_one_acknowledged_again(research: Research) -> None:
    up = research.uploader(research.enrol())
    hid = household_id()
    doc = batch(hid, DAY, seed=3.0)
    for _ in range(3):
        answer = up.send(doc)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"batch_id": doc["batch_id"]}
    assert stored(research) == [(doc["batch_id"], 2)]
    con = released_connection(research.data, 1)
    rows = con.execute(
        "SELECT channel, slot, value FROM readings WHERE household_id = ? ORDER BY channel, slot", [hid]
    ).fetchall()
    sent = [(c, i, v) for c, values in sorted(doc["readings"].items()) for i, v in enumerate(values)]
    assert rows == sent  # every value as sent, once
    assert con.execute("SELECT count(*), any_value(quality_ok) FROM batches").fetchone() == (1, True)


HOSTILE = {
    "an unknown key": (lambda d: d.update(meter_id="x"), "unknown key(s) meter_id"),
    "a full postcode": (lambda d: d["site"].update(postcode_prefix="1081"), "postcode_prefix"),
    "a cumulative register": (
        lambda d: d["readings"].update({"grid.e_import_kwh": [1.0] * 96}),
        "cumulative energy register",
    ),
    "a meter-id-like string": (
        lambda d: d["summary"].update(meter="7359992890123456"),
        "looks like a meter id",
    ),
    "a value out of range": (
        lambda d: d["readings"]["pv.p_w"].__setitem__(5, 5e7),
        "outside the physical range",
    ),
    "slots that do not match the day": (lambda d: d["interval"].update(slots=92), "interval.slots"),
    "an interval of another day": (
        lambda d: d["interval"].update(start="2026-03-02T23:00:00+00:00"),
        "batch.interval",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_batch_is_refused_with_its_reason_and_nothing_stored(research: Research, case: str) -> None:
    up = research.uploader(research.enrol())
    hostile = copy.deepcopy(batch(household_id(), DAY))
    mutate, reason = HOSTILE[case]
    mutate(hostile)
    answer = up.send(hostile)
    assert 400 <= answer.status_code < 500
    assert reason in answer.json()["error"]
    assert stored(research) == []
    assert files_under(research.data.store) == []


def test_tokens_sizes_encodings_and_rates_are_checked(tmp_path: Path, pki: Any) -> None:
    from research.enrol import enrol
    from research.paths import DataDir

    data = DataDir(tmp_path / "r").ensure()
    from datetime import UTC, datetime

    e = enrol(data, "1081", now=datetime.now(UTC))
    server = start(data.root, pki, Limits(max_body_bytes=200_000, requests_per_minute=1, burst=2))
    try:
        up = Uploader(server.url, e.token, pki.ca_file)
        hid = household_id()
        assert up.send(batch(hid, DAY), token="nope").status_code == 401
        huge = batch(hid, DAY)
        huge["summary"]["noise"] = [f"{i:x}-{i * 7919 % 104729:x}" for i in range(40_000)]
        big = up.send(huge)
        assert big.status_code == 413 and "larger than" in big.json()["error"]
        with up.client() as c:
            plain = c.post(
                up.url + "/batches",
                content=gzip.decompress(gz(batch(hid, DAY))),
                headers={"Authorization": f"Bearer {e.token}", "Idempotency-Key": f"{hid}/{DAY}"},
            )
        assert plain.status_code == 415
        limited = up.send(batch(hid, DAY))
        assert limited.status_code == 429 and limited.headers["Retry-After"]
    finally:
        server.stop()


def test_the_idempotency_key_must_name_the_batch(research: Research) -> None:
    up = research.uploader(research.enrol())
    doc = batch(household_id(), DAY)
    answer = up.send(doc, key="something-else")
    assert answer.status_code == 400 and "Idempotency-Key" in answer.json()["error"]


def test_a_token_stays_with_its_household_and_its_prefix(research: Research) -> None:
    up = research.uploader(research.enrol("1081"))
    first = household_id()
    assert up.send(batch(first, DAY)).status_code == 200
    other = up.send(batch(household_id(), DAY))
    assert other.status_code == 403 and "another household id" in other.json()["error"]
    moved = up.send(batch(first, date(2026, 3, 3), prefix="109x"))
    assert moved.status_code == 422 and "enrolled prefix '108x'" in moved.json()["error"]


def test_conformity_flags_are_stored_and_the_data_left_as_received(research: Research) -> None:
    up = research.uploader(research.enrol())
    hid = household_id()
    doc = batch(hid, DAY)
    doc["readings"]["grid.p_import_w"][10] = None  # a gap
    doc["readings"]["circuit.heater.p_w"][40] = 9000.0  # circuits above the meter
    doc["summary"]["house"]["import_kwh"] += 5.0  # the day's energy disagrees with its summary
    doc["readings"]["grid.p_export_w"][50] = 60000.0  # beyond a 25 A supply
    assert up.send(doc).status_code == 200
    con = released_connection(research.data, 1)
    flags, ok = con.execute("SELECT flags, quality_ok FROM batches").fetchone()
    assert set(flags) >= {"gaps", "circuits_above_meter", "day_energy_mismatch", "impossible_values"}
    assert ok is False
    assert con.execute(
        "SELECT value FROM readings WHERE channel = 'circuit.heater.p_w' AND slot = 40"
    ).fetchone() == (9000.0,)
    assert con.execute(
        "SELECT value FROM readings WHERE channel = 'grid.p_import_w' AND slot = 10"
    ).fetchone() == (None,)
