"""The released views are built once per state of the store and shared by cursors: a cursor's own
objects stay its own, a query on a cursor outlives the next upload, and an upload or a resignation
is seen by the next connection at once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from research_testing import batch, gz, household_id

from research.auth import Household
from research.enrol import enrol
from research.ingest.service import Limits, Receiver
from research.paths import DataDir
from research.resign import resign
from research.store.released import released_connection

DAY = date(2025, 11, 3)


def _store(receiver: Receiver, home: Household, hid: str, day: date) -> None:
    doc = batch(hid, day, prefix=home.prefix)
    receiver.batch(home, doc["batch_id"], gz(doc))


def _five_homes(tmp_path: Path) -> tuple[DataDir, Receiver, list[tuple[Household, str, str]]]:
    """Five households of 108x, each with DAY stored: (household, its id, its enrolment)."""
    data = DataDir(tmp_path / "research").ensure()
    receiver = Receiver(data, lambda: datetime.now(UTC), Limits())
    homes = []
    for _ in range(5):
        e = enrol(data, "1081", now=datetime.now(UTC))
        homes.append((Household(e.enrolment, None, e.prefix), household_id(), e.enrolment))
    for home, hid, _ in homes:
        _store(receiver, home, hid, DAY)
    return data, receiver, homes


def test_cursors_share_the_views_but_not_their_own_objects_and_follow_the_store(tmp_path: Path) -> None:
    data, receiver, homes = _five_homes(tmp_path)
    one, two = released_connection(data, 5), released_connection(data, 5)
    assert one.execute("SELECT postcode_prefix, households FROM prefixes").fetchall() == [("108x", 5)]
    one.execute("CREATE TEMP TABLE mine AS SELECT 1 AS x")
    assert not two.execute("SELECT * FROM duckdb_tables() WHERE table_name = 'mine'").fetchall()
    # an upload: the next connection sees the new day; the open one still answers (its views read
    # the files at query time, its households as they were)
    _store(receiver, homes[0][0], homes[0][1], DAY + timedelta(days=1))
    three = released_connection(data, 5)
    assert three.execute("SELECT count(*) FROM batches").fetchone() == (6,)
    assert two.execute("SELECT count(DISTINCT household_id) FROM batches").fetchone() == (5,)
    # a resignation: the prefix falls below k for the very next connection
    now = datetime.now(UTC)
    resign(data, homes[1][2], requested_by="administrator", requested_at=now, now=now)
    four = released_connection(data, 5)
    assert four.execute("SELECT postcode_prefix FROM prefixes").fetchall() == [(None,)]
    gone = four.execute("SELECT count(*) FROM batches WHERE household_id = ?", [homes[1][1]])
    assert gone.fetchone() == (0,)
    for con in (one, two, three, four):
        con.close()


def test_the_datasets_page_shows_the_last_overview_at_once_while_new_days_are_counted(
    tmp_path: Path,
) -> None:
    import time

    from research.query.datasets import overview, overview_at_once

    data, receiver, homes = _five_homes(tmp_path)
    first, as_of = overview_at_once(data, 5)
    assert as_of is None and first[1]["coverage"]["household_days"] == 5  # computed: nothing before
    _store(receiver, homes[0][0], homes[0][1], DAY + timedelta(days=1))  # a new day, the same homes
    shown, as_of = overview_at_once(data, 5)
    assert as_of is not None and shown == first  # the last figures, saying when they were computed
    for _ in range(200):  # counted in the background
        now, as_of = overview_at_once(data, 5)
        if as_of is None:
            break
        time.sleep(0.02)
    assert as_of is None and now[1]["coverage"]["household_days"] == 6
    assert now == overview(data, 5)
    # a household that leaves is never shown stale: its resignation is in the very next figures
    moment = datetime.now(UTC)
    resign(data, homes[1][2], requested_by="administrator", requested_at=moment, now=moment)
    after, as_of = overview_at_once(data, 5)
    assert as_of is None and after[1]["coverage"]["households"] == 4
