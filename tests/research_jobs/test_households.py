"""20 twin households answer one job; the server's combined answer equals the same query over their
data stored centrally, exactly without noise and within the stated noise bound with it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from jobs_testing import central_store, make_job

from hems.research_jobs.facts import wanted_channels
from hems.research_jobs.runner import run_checked
from hems.storage import Storage
from hems.telemetry.config import DEFAULT_CHANNELS
from research.jobs.combine import combine
from wire.jobcheck import check_job
from wire.jobs import Job
from wire.results import JobResult
from wire.sketch import ALPHA

TZ = ZoneInfo("Europe/Oslo")
CHANNEL = "grid.p_import_w"


def answer(job: Job, homes: list[Path]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every home runs the job in its watched worker; the server combines their result documents."""
    checked = check_job(job)
    results = []
    for path in homes:
        with Storage.open(path, readonly=True) as st:
            channels = wanted_channels(st.channels(), job.channels, DEFAULT_CHANNELS)
        outcome = run_checked(checked, path, channels=channels, facts={}, k=job.k)
        assert outcome.ok, outcome.reason
        assert channels == [CHANNEL]  # the register grid.e_import_kwh never enters the copy
        groups = {tuple(g["key"]): g["values"] for g in outcome.groups}
        results.append(JobResult(job.id, groups, outcome.usage, outcome.privacy, "test").to_dict(job))
    return combine(job, results, k_min=5), results


def exact_quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.floor(q * (len(ordered) - 1))]


def test_twenty_homes_combined_equal_the_central_query(twin_dir: Path) -> None:
    homes = sorted(twin_dir.glob("home-*.db"))
    assert len(homes) == 20
    job = make_job()
    combined, results = answer(job, homes)
    central = central_store(homes)
    expected = {
        hour: (mean, n, lo, hi)
        for hour, mean, n, lo, hi in central.execute(
            "SELECT hour, AVG(mean), COUNT(*), MIN(mean), MAX(mean) FROM series_15m GROUP BY hour"
        )
    }
    assert combined["homes"] == 20
    assert combined["groups_withheld"] == 0
    assert [g["key"][0] for g in combined["groups"]] == sorted(expected)
    edges = job.outputs[4].edges
    for group in combined["groups"]:
        hour = group["key"][0]
        mean, n, lo, hi = expected[hour]
        values = group["values"]
        assert group["homes"] == 20
        assert values["mean_w"]["mean"] == pytest.approx(mean, rel=1e-9)
        assert values["mean_w"]["count"] == n
        assert values["slots"]["count"] == n
        assert values["low"]["min"] == pytest.approx(lo, rel=1e-12)
        assert values["high"]["max"] == pytest.approx(hi, rel=1e-12)
        raw = [r[0] for r in central.execute("SELECT mean FROM series_15m WHERE hour = ?", (hour,))]
        counts = [0] * (len(edges) + 1)
        for v in raw:
            counts[sum(1 for e in edges if v >= e)] += 1
        assert values["hist"]["counts"] == counts
        for q, got in zip(values["q"]["q"], values["q"]["values"], strict=True):
            assert got == pytest.approx(exact_quantile(raw, q), rel=ALPHA)
    # no home's result carries a slot, a time or anything but its groups' aggregates
    for doc in results:
        assert set(doc) == {"schema", "job_id", "keys", "groups", "privacy", "usage", "software"}
        assert all(len(g["key"]) == 1 for g in doc["groups"])


def test_with_differential_privacy_the_answer_is_within_its_stated_noise(twin_dir: Path) -> None:
    homes = sorted(twin_dir.glob("home-*.db"))
    job = make_job(
        sql="SELECT hour, AVG(mean) AS mean_w, COUNT(*) AS slots, histogram(mean) AS hist FROM series_15m"
        " WHERE channel = 'grid.p_import_w' GROUP BY hour",
        outputs=[
            {"name": "mean_w", "kind": "mean"},
            {"name": "slots", "kind": "count"},
            {"name": "hist", "kind": "histogram", "edges": [0, 1000, 2000, 4000, 8000]},
        ],
        privacy={"epsilon": 8.0, "mechanism": "laplace", "bounds": {"mean_w": [0, 15000]}},
    )
    combined, results = answer(job, homes)
    central = central_store(homes)
    expected = {
        hour: (total, n)
        for hour, total, n in central.execute(
            "SELECT hour, TOTAL(MAX(MIN(mean, 15000), 0)), COUNT(*) FROM series_15m GROUP BY hour"
        )
    }
    # each home: ε = 8 over 4 noisy quantities (the mean's sum and count, the count, the histogram)
    scales = results[0]["privacy"]["scales"]
    assert scales["mean_w"]["sum"] == pytest.approx(15000 / 2)
    assert scales["mean_w"]["count"] == pytest.approx(1 / 2)
    exact_everywhere = True
    for group in combined["groups"]:
        total, n = expected[group["key"][0]]
        noisy = group["values"]["mean_w"]
        sd = group["noise_sd"]["mean_w"]
        assert sd["sum"] == pytest.approx(math.sqrt(20 * 2) * 15000 / 2)  # 20 independent Laplace
        assert abs(noisy["mean"] * noisy["count"] - total) <= 6 * sd["sum"]
        assert abs(noisy["count"] - n) <= 6 * sd["count"]
        assert abs(group["values"]["slots"]["count"] - n) <= 6 * group["noise_sd"]["slots"]["count"]
        exact_everywhere &= noisy["count"] == n and group["values"]["slots"]["count"] == n
        for c in group["values"]["hist"]["counts"]:
            assert c == int(c)  # discrete noise: a count stays a whole number
    assert not exact_everywhere  # noise was added
