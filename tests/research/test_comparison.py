"""Social comparison over the real server (HTTPS): figures equal a hand computation, and nothing is
said about fewer than k homes."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from research_testing import Research, batch, household_id

from wire.comparison import parse_comparison

MONTH = date(2026, 3, 1)
DAYS = [MONTH + timedelta(days=i) for i in range(6)]
A = {"main_fuse_a": 25.0, "heating": "heat_pump", "pv": False, "ev": True}
B = {"main_fuse_a": 25.0, "heating": "electric_direct", "pv": True, "ev": False}
C = {"main_fuse_a": 35.0, "heating": "district", "pv": True, "ev": False}
A_KEY = "fuse=25,heating=heat_pump,pv=0,ev=1"
B_KEY = "fuse=25,heating=electric_direct,pv=1,ev=0"
C_KEY = "fuse=35,heating=district,pv=1,ev=0"


@dataclass
class Study:
    research: Research
    tokens: dict[str, str] = field(default_factory=dict)  #: home name → token
    #: (home name, group facts, day) → the import [kWh] its batch's summary states, coverage
    sent: list[tuple[str, dict[str, Any], date, float, float]] = field(default_factory=list)

    def get(self, token: str, **params: str) -> httpx.Response:
        ctx = ssl.create_default_context(cafile=str(self.research.pki.ca_file))
        with httpx.Client(verify=ctx, timeout=30.0) as c:
            return c.get(
                self.research.server.url + "/comparison",
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )


def _home(study: Study, name: str, postcode: str, facts: dict[str, Any], days: list[date], **kw: Any) -> None:
    enrolled = study.research.enrol(postcode)
    study.tokens[name] = enrolled.token
    up = study.research.uploader(enrolled)
    hid = household_id()
    for i, day in enumerate(days):
        doc = batch(hid, day, prefix=postcode[:3] + "x", seed=len(study.tokens) * 37.0 + i * 11.0)
        doc["site"].update(facts)
        if kw.get("low_coverage") == day:
            doc["summary"]["coverage"] = 0.5
        if kw.get("simulated"):
            doc["simulated"] = True
        assert up.send(doc).status_code == 200, up.send(doc).text
        if not kw.get("simulated"):
            house = doc["summary"]["house"]
            study.sent.append((name, facts, day, house["import_kwh"], doc["summary"]["coverage"]))


@pytest.fixture
def study(research: Research) -> Study:
    s = Study(research)
    for i in range(5):  # group A: 5 homes all month (a0's last day covers too little to count)
        _home(s, f"a{i}", "1081", A, DAYS, low_coverage=DAYS[-1] if i == 0 else None)
    _home(s, "a5", "1082", A, DAYS[:2])  # two days of six: in the daily figures, not the monthly
    for i in range(5):
        _home(s, f"b{i}", "1083", B, DAYS)
    _home(s, "c0", "1084", C, DAYS)  # alone in its group
    _home(s, "twin", "1085", A, DAYS, simulated=True)  # the digital twin never counts
    for i in range(3):  # 107x: three homes, below k=5 and with no small neighbour to pool with
        _home(s, f"s{i}", "1071", A, DAYS)
    return s


def _q(values: list[float]) -> dict[str, float]:
    a = np.array(values)
    p = np.percentile(a, [10, 25, 50, 75, 90])  # numpy's default: linear interpolation
    return {
        "homes": len(values),
        "mean": float(a.mean()),
        **dict(zip(["p10", "p25", "p50", "p75", "p90"], p, strict=True)),
    }


def _close(got: dict[str, Any], want: dict[str, float]) -> None:
    assert got["homes"] == want["homes"]
    for name in ("mean", "p10", "p25", "p50", "p75", "p90"):
        assert got[name] == pytest.approx(want[name], abs=1e-3), name


def test_figures_equal_a_hand_computation(study: Study) -> None:
    counted = [(n, f, d, kwh) for n, f, d, kwh, cov in study.sent if cov >= 0.9 and n[0] != "s"]
    answer = study.get(study.tokens["a1"], prefix="108x", group=A_KEY, month="2026-03")
    assert answer.status_code == 200, answer.text
    doc = parse_comparison(answer.json())
    assert (doc["prefix"], doc["group"], doc["month"], doc["k"]) == ("108x", A_KEY, "2026-03", 5)
    in_a = [(n, d, kwh) for n, f, d, kwh in counted if f is A]
    # monthly: each home's mean day, homes with at least 3 of the 6 days (a5 has 2)
    means = {home: float(np.mean([kwh for n, _, kwh in in_a if n == home])) for home, _, _ in in_a}
    assert len(means) == 6
    _close(doc["monthly"], _q([m for home, m in means.items() if home != "a5"]))
    # daily: days 1-2 have six homes, 3-5 five, day 6 four (a0 covered too little): not published
    days = {d["day"]: d for d in doc["daily"]}
    assert sorted(days) == [d.isoformat() for d in DAYS[:5]]
    for day in DAYS[:5]:
        _close(days[day.isoformat()], _q([kwh for _, d, kwh in in_a if d == day]))
    # the whole prefix (every group, without the twin) by default for a home of 108x
    everyone = study.get(study.tokens["b0"], month="2026-03").json()
    assert everyone["prefix"] == "108x" and everyone["group"] == "all"
    day6 = next(d for d in everyone["daily"] if d["day"] == DAYS[5].isoformat())
    _close(day6, _q([kwh for _, _, d, kwh in counted if d == DAYS[5]]))
    assert everyone["monthly"]["homes"] == 11


def test_fewer_than_k_homes_are_never_described(study: Study) -> None:
    small = study.tokens["s0"]
    for prefix in ("107x", "10xx"):
        answer = study.get(small, prefix=prefix, month="2026-03")
        assert answer.status_code == 404 and "fewer than 5" in answer.json()["error"], answer.text
    answer = study.get(small, month="2026-03")  # its own prefix: withheld
    assert answer.status_code == 404 and "not released" in answer.json()["error"]
    # a group of one home in 108x
    answer = study.get(study.tokens["c0"], prefix="108x", group=C_KEY, month="2026-03")
    assert answer.status_code == 403, answer.text
    assert "fewer than 5" in answer.json()["error"]
    # coarser, overlapping groups are not offered: they could be subtracted from each other
    for group in ("heating=district", "fuse=25", "fuse=35,heating=district"):
        answer = study.get(study.tokens["c0"], prefix="108x", group=group, month="2026-03")
        assert answer.status_code == 400 and "the full key" in answer.json()["error"], answer.text
    answer = study.get(study.tokens["a1"], month="2026-04")  # a month nobody reported
    assert answer.status_code == 404 and "no home in 108x 2026-04" in answer.json()["error"]
    # nothing the server says holds the 107x homes' figures
    text = study.get(study.tokens["a1"], prefix="108x", month="2026-03").text
    assert "107x" not in text
    for n, _, _, kwh, _ in study.sent:
        if n.startswith("s"):
            assert f"{kwh:.3f}" not in text


@pytest.mark.parametrize(
    ("params", "status", "reason"),
    [
        ({"prefix": "1081"}, 400, "prefix"),
        ({"group": "fuse=25,color=red"}, 400, "group"),
        ({"group": "heating=oil"}, 400, "heating"),
        ({"month": "2026-13"}, 400, "month"),
    ],
)
def test_bad_questions_get_one_clear_reason(
    research: Research, params: dict[str, str], status: int, reason: str
) -> None:
    s = Study(research)
    _home(s, "x", "1081", A, DAYS[:1])
    answer = s.get(s.tokens["x"], **params)
    assert answer.status_code == status and reason in answer.json()["error"], answer.text
    assert s.get("hems-not-a-token", month="2026-03").status_code == 401


def test_a_store_written_before_the_group_facts_still_compares(study: Study) -> None:
    """Files without heating/pv/ev (a store from before them): the released view gives nulls, the
    prefix is still compared, a group naming a fact is not; a month's compaction merges old and new."""
    import pyarrow.parquet as pq

    from research.store import layout
    from research.store.released import released_connection
    from research.store.writer import compact_month

    store = study.research.data.store
    files = sorted(layout.table_files(store, "batches"))
    for path in files[::2]:  # every other day as an older server wrote it: months mix both
        pq.write_table(pq.read_table(path).drop_columns(["heating", "pv", "ev"]), path)
    households = {p.parent.parent.name.removeprefix("household=") for p in files}
    for hid in households:
        assert compact_month(store, "batches", hid, "2026-03")
    con = released_connection(study.research.data, 5)
    nulls = con.execute("SELECT count(*) FROM batches WHERE heating IS NULL").fetchone()
    assert nulls is not None and nulls[0] > 0
    everyone = study.get(study.tokens["a1"], prefix="108x", month="2026-03")
    assert everyone.status_code == 200 and everyone.json()["monthly"]["homes"] == 11
    for path in layout.table_files(store, "batches"):  # a store that never had them
        pq.write_table(pq.read_table(path).drop_columns(["heating", "pv", "ev"]), path)
    con = released_connection(study.research.data, 5)
    counts = con.execute("SELECT count(*), count(heating), count(pv), count(ev) FROM batches").fetchone()
    assert counts is not None and counts[0] > 0 and counts[1:] == (0, 0, 0)
    assert study.get(study.tokens["a1"], prefix="108x", group=A_KEY, month="2026-03").status_code == 403


def test_a_household_asking_too_often_is_told_to_wait(research: Research) -> None:
    from research.comparison.routes import BURST

    s = Study(research)
    _home(s, "x", "1081", A, DAYS[:1])
    answers = [s.get(s.tokens["x"], month="2026-03").status_code for _ in range(BURST)]
    assert answers == [404] * BURST  # answered (its prefix is below k)
    last = s.get(s.tokens["x"], month="2026-03")
    assert last.status_code == 429 and "too many requests" in last.json()["error"]
    assert last.headers["retry-after"] == "60"


def test_no_difference_of_published_figures_describes_the_lone_home(study: Study) -> None:
    """108x holds groups A (5-6 homes), B (5) and C (1 home). Were A, B and the whole prefix all
    published, the prefix's sum minus A's and B's would be C's lone home: one of A and B is withheld
    wherever C would otherwise show (secondary suppression), every day and for the month."""
    answers = {
        key: study.get(study.tokens["a1"], prefix="108x", group=key, month="2026-03")
        for key in ("all", A_KEY, B_KEY)
    }
    docs = {key: a.json() if a.status_code == 200 else None for key, a in answers.items()}
    assert docs["all"] is not None and docs["all"]["monthly"]["homes"] == 11

    def published(key: str, day: str | None) -> dict[str, Any] | None:
        doc = docs[key]
        if doc is None:
            return None
        if day is None:
            return doc["monthly"]
        return next((d for d in doc["daily"] if d["day"] == day), None)

    for day in [None, *(d.isoformat() for d in DAYS)]:
        whole, a, b = (published(key, day) for key in ("all", A_KEY, B_KEY))
        if whole is not None and a is not None and b is not None:
            rest = whole["homes"] - a["homes"] - b["homes"]
            assert rest == 0 or rest >= 5, (day, rest)
    assert docs[A_KEY] is not None and docs[A_KEY]["monthly"] is not None  # A is not lost with it
