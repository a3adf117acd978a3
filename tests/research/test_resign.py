"""Resign and deletion: a household's data is gone from every file (the bytes are scanned), its token
no longer works, a receipt says what and when, and the register is never part of research data."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
from conftest import Research
from research_testing import batch, bytes_hold, files_under, household_id

from research.enrol import Enrolled
from research.register import contact_of
from research.serverdb import open_server_db
from research.store import layout
from research.store.released import released_connection

START = date(2026, 1, 28)  # 8 days: into February, so January is compacted


def upload_days(research: Research, postcode: str, seed: float, days: int = 8) -> tuple[str, Enrolled]:
    enrolled = research.enrol(postcode, name="Kari Nordmann", address="Storgata 12", email="kari@example.org")
    up = research.uploader(enrolled)
    hid = household_id()
    for n in range(days):
        answer = up.send(batch(hid, START + timedelta(days=n), prefix=postcode[:3] + "x", seed=seed))
        assert answer.status_code == 200, answer.text
    return hid, enrolled


def test_a_deletion_request_removes_the_household_from_every_file(research: Research) -> None:
    gone_id, gone = upload_days(research, "1081", seed=0.37)
    kept_id, _ = upload_days(research, "1081", seed=0.52)
    # January was compacted into one monthly file per table when February began
    jan = layout.month_dir(research.data.store, "readings", gone_id, "2026-01")
    assert [p.name for p in jan.iterdir()] == ["month-2026-01.parquet"]
    needle = gone_id.encode()
    assert bytes_hold(research.data.root, needle)  # the scan can see it (Parquet statistics, SQLite)
    values = {1500.37, 200.37}  # the heater circuit's values are this household's own

    up = research.uploader(gone)
    answer = up.delete(gone_id)
    assert answer.status_code == 200 and answer.json() == {"household_id": gone_id}

    assert bytes_hold(research.data.root, needle) == []
    for path in layout.table_files(research.data.store, "readings"):
        table = pq.read_table(path)
        assert gone_id not in set(table.column("household_id").to_pylist())
        assert not values & set(table.column("value").to_pylist())
    for path in files_under(research.data.root):  # SQLite pages hold floats as 8-byte doubles
        assert not any(struct.pack(">d", v) in path.read_bytes() for v in values)
    con = released_connection(research.data, 1)
    assert con.execute("SELECT DISTINCT household_id FROM readings").fetchall() == [(kept_id,)]
    # the token no longer works for uploads; the request can be repeated (its answer may have been lost)
    assert up.send(batch(gone_id, START + timedelta(days=9))).status_code == 401
    again = up.delete(gone_id)
    assert again.status_code == 200 and again.json() == {"household_id": gone_id}
    with open_server_db(research.data) as db:
        receipts = db.execute("SELECT enrolment, requested_by, batches, files, what FROM receipts").fetchall()
    assert [tuple(r)[:4] for r in receipts] == [(gone.enrolment, "household", 8, 10)]  # Jan compacted: 2 + 8
    assert "store table 'readings' (every month)" in json.loads(receipts[0]["what"])
    assert contact_of(research.data, gone.enrolment) is None


def test_resign_by_the_administrator(research: Research, tmp_path: Path) -> None:
    gone_id, gone = upload_days(research, "1081", seed=0.37, days=2)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "hems",
            "research",
            "resign",
            "--data",
            str(research.data.root),
            gone.enrolment,
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    receipt = json.loads(run.stdout)
    assert receipt["requested_by"] == "administrator" and receipt["batches"] == 2 and receipt["files"] == 4
    assert gone_id not in run.stdout
    assert bytes_hold(research.data.root, gone_id.encode()) == []
    assert research.uploader(gone).send(batch(gone_id, START + timedelta(days=3))).status_code == 401
    unknown = subprocess.run(
        [sys.executable, "-m", "hems", "research", "resign", "--data", str(research.data.root), "e-nobody"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (
        unknown.returncode == 2
        and unknown.stderr.strip() == "hems research resign: error: no enrolment 'e-nobody'"
    )


def test_the_register_is_its_own_file_and_never_in_research_data(research: Research) -> None:
    _, enrolled = upload_days(research, "1081", seed=0.1, days=1)
    secrets = [b"Kari Nordmann", b"Storgata 12", b"kari@example.org", b"1081"]
    assert all(
        bytes_hold(research.data.register_db.parent, s) == [research.data.register_db] for s in secrets[:3]
    )
    for s in secrets:
        assert bytes_hold(research.data.store, s) == []
        assert s not in research.data.server_db.read_bytes()
    con = released_connection(research.data, 1)
    dump = json.dumps(
        [
            con.execute(f"SELECT * FROM {v}").fetchall()
            for v in ("households", "batches", "readings", "prefixes")
        ],
        default=str,
    )
    assert "Kari" not in dump and "Storgata" not in dump
    listing = subprocess.run(
        [sys.executable, "-m", "hems", "research", "households", "--data", str(research.data.root), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(listing.stdout)
    assert [(r["enrolment"], r["prefix"], r["status"]) for r in rows] == [
        (enrolled.enrolment, "108x", "active")
    ]
    assert rows[0]["last_upload_at"] and "Kari" not in listing.stdout
