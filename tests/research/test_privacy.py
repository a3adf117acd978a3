"""k-anonymity on the postcode prefix, applied to everything researchers see."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from research_testing import Research, batch, household_id

from research.privacy import release_prefixes
from research.store.released import released_connection

DAY = date(2026, 3, 2)
#: postcode → households: 108x has 5 (kept), 107x + 109x pool to 5 (→ 10xx), 200x has 1 (withheld)
HOMES = {"1081": 5, "1071": 2, "1092": 3, "2001": 1}


@pytest.fixture
def study(research: Research) -> Research:
    for postcode, n in HOMES.items():
        for _ in range(n):
            up = research.uploader(research.enrol(postcode))
            assert up.send(batch(household_id(), DAY, prefix=postcode[:3] + "x")).status_code == 200
    up = research.uploader(research.enrol("3001"))  # a simulated household alone in 300x
    twin = batch(household_id(), DAY, prefix="300x")
    twin["simulated"] = True
    assert up.send(twin).status_code == 200
    return research


def test_a_prefix_below_k_never_appears_ungeneralised(study: Research) -> None:
    con = released_connection(study.data, 5)
    assert sorted(con.execute("SELECT * FROM prefixes").fetchall(), key=str) == sorted(
        [("108x", 5), ("10xx", 5), (None, 1), ("300x", 1)], key=str
    )
    seen = set()
    for view in ("households", "batches", "readings", "prefixes"):
        rows = con.execute(f"SELECT * FROM {view}").fetchall()
        seen |= {str(v) for row in rows for v in row}
    text = " ".join(seen)
    for small in ("107x", "109x", "200x"):
        assert small not in text
    by_prefix = con.execute(
        "SELECT postcode_prefix, count(DISTINCT household_id) FROM readings WHERE NOT simulated "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert by_prefix == [("108x", 5), ("10xx", 5), (None, 1)]
    with pytest.raises(Exception, match=r"disabled by configuration"):
        con.execute(f"SELECT * FROM read_parquet('{study.data.root}/server.sqlite')")


def test_the_privacy_report(study: Research) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "hems",
            "research",
            "privacy-report",
            "--data",
            str(study.data.root),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(run.stdout)
    rows = {r["prefix"]: (r["households"], r["below_k"], r["released_as"]) for r in report["prefixes"]}
    assert rows == {
        "107x": (2, True, "10xx"),
        "108x": (5, False, "108x"),
        "109x": (3, True, "10xx"),
        "200x": (1, True, None),
        "300x": (0, False, "300x"),
    }
    assert report["below_k"] == ["107x", "109x", "200x"] and report["households"] == 11
    text = subprocess.run(
        [
            sys.executable,
            "-m",
            "hems",
            "research",
            "privacy-report",
            "--data",
            str(study.data.root),
            "--k",
            "3",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = {line.split()[0]: line.split()[1:] for line in text.splitlines()[2:7]}
    assert lines["200x"] == ["1", "withheld", "(below", "k)"]
    assert lines["109x"] == ["3", "109x"]  # at k = 3 it is released as it is


@given(
    st.dictionaries(st.from_regex(r"[0-9]{3}x", fullmatch=True), st.integers(1, 12), max_size=30),
    st.integers(1, 8),
)
def test_every_released_label_stands_for_k_households(counts: dict[str, int], k: int) -> None:
    release = release_prefixes(counts, k)
    groups: dict[str, int] = {}
    for prefix, label in release.items():
        if label is not None:
            groups[label] = groups.get(label, 0) + counts[prefix]
            assert label == prefix or counts[prefix] < k  # only small prefixes are generalised
    assert all(n >= k for n in groups.values())
    assert set(release) == set(counts)


def test_the_release_follows_every_upload_and_resignation_at_once(research: Research) -> None:
    """The households' prefixes are read again whenever the store's batch files change: the fifth
    household of 205x releases the prefix on its first upload, and its resignation withholds it."""
    from datetime import UTC, datetime

    from research.resign import resign

    def labels() -> set[str | None]:
        con = released_connection(research.data, 5)
        try:
            return {p for (p,) in con.execute("SELECT DISTINCT postcode_prefix FROM households").fetchall()}
        finally:
            con.close()

    enrolled = [research.enrol("2050") for _ in range(5)]
    for e in enrolled[:4]:
        assert (
            research.uploader(e).send(batch(household_id(), date(2026, 2, 1), prefix="205x")).status_code
            == 200
        )
    assert "205x" not in labels() and labels() == {None}  # four homes: withheld (the cache is warm now)
    assert labels() == {None}
    assert (
        research.uploader(enrolled[4])
        .send(batch(household_id(), date(2026, 2, 1), prefix="205x"))
        .status_code
        == 200
    )
    assert labels() == {"205x"}
    now = datetime.now(UTC)
    resign(research.data, enrolled[4].enrolment, requested_by="household", requested_at=now, now=now)
    assert labels() == {None}
