"""The wire format: job and result documents checked field by field, the sketch merges exactly,
signatures verify only for the server's key, and the calibration of the noise."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jobs_testing import job_doc, make_job

from hems.research_jobs.dp import Noise
from hems.research_jobs.signature import SignatureRefused, verify
from research.jobs.combine import combine
from research.jobs.signing import new_private_key, public_key_b64, sign_job
from wire.errors import WireError
from wire.jobs import Job, Output, Privacy, SignedJob
from wire.results import JobResult
from wire.sketch import ALPHA, QuantileSketch


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema": "hems-job/2"}, "job.schema"),
        ({"categories": ["contacts"]}, "job.categories"),
        ({"k": 1}, "job.k"),
        ({"budget": {"cpu_seconds": 0, "rows_read": 1, "output_cells": 1}}, "job.budget"),
        ({"budget": {"cpu_seconds": 1, "rows_read": 1}}, "job.budget.output_cells: missing"),
        ({"period": {"start": "2026-01-02", "end": "2026-01-01"}}, "job.period"),
        ({"outputs": [{"name": "h", "kind": "histogram", "edges": [1, 1]}]}, "increasing"),
        ({"outputs": [{"name": "q", "kind": "quantiles", "q": [1.5]}]}, "probabilities"),
        ({"outputs": [{"name": "x", "kind": "median"}]}, "kind"),
        ({"privacy": {"epsilon": 0}}, "epsilon"),
        ({"privacy": {"epsilon": 1, "mechanism": "gaussian"}}, "delta"),
        ({"extra": 1}, "unknown field"),
        ({"keys": ["hour", "hour"]}, "different names"),
    ],
)
def test_a_malformed_job_is_named_field_by_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(WireError, match=message):
        Job.from_dict(job_doc(**change))


def test_a_job_round_trips_through_its_json() -> None:
    job = make_job()
    assert Job.from_json(job.to_json()) == job


def test_only_the_servers_key_verifies_a_job() -> None:
    key, other = new_private_key(), new_private_key()
    signed = sign_job(make_job(), key)
    verify(signed, public_key_b64(key))
    with pytest.raises(SignatureRefused, match="bad signature"):
        verify(signed, public_key_b64(other))
    tampered = SignedJob(signed.payload.replace('"k":4', '"k":2'), signed.signature, signed.key_id)
    with pytest.raises(SignatureRefused, match="bad signature"):
        verify(tampered, public_key_b64(key))
    with pytest.raises(SignatureRefused, match="not base64"):
        verify(SignedJob(signed.payload, "%%%", ""), public_key_b64(key))
    with pytest.raises(WireError, match="signature: missing"):
        SignedJob.from_dict({"schema": "hems-signed-job/1", "payload": signed.payload})


values = st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=300)


@settings(max_examples=60, deadline=None)
@given(values, values, st.floats(min_value=0, max_value=1))
def test_merged_sketches_are_the_sketch_of_the_union(a: list[float], b: list[float], q: float) -> None:
    left, right, union = QuantileSketch(), QuantileSketch(), QuantileSketch()
    left.extend(a)
    right.extend(b)
    union.extend(a + b)
    left.merge(QuantileSketch.from_dict(right.to_dict()))
    assert left.to_dict() == union.to_dict()
    exact = sorted(a + b)[math.floor(q * (len(a) + len(b) - 1))]
    estimate = left.quantile(q)
    assert estimate is not None
    if abs(exact) < 1e-9:
        assert estimate == 0.0
    else:
        assert abs(estimate - exact) <= ALPHA * abs(exact) * (1 + 1e-9)


def test_a_result_must_carry_exactly_the_declared_outputs() -> None:
    job = make_job(
        outputs=[{"name": "n", "kind": "count"}],
        sql="SELECT hour, COUNT(*) AS n FROM series_1h GROUP BY hour",
    )
    good = {"schema": "hems-job-result/1", "job_id": job.id, "keys": ["hour"], "privacy": None,
            "groups": [{"key": [1], "values": {"n": {"count": 5}}}]}  # fmt: skip
    assert JobResult.from_dict(good, job).groups == {(1,): {"n": {"count": 5.0}}}
    for groups in (
        [{"key": [1], "values": {"n": {"count": 5}, "raw": {"count": 1}}}],
        [{"key": [1], "values": {"n": {"count": "5"}}}],
        [{"key": ["x" * 65], "values": {"n": {"count": 5}}}],
        [{"key": [1, 2], "values": {"n": {"count": 5}}}],
    ):
        with pytest.raises(WireError):
            JobResult.from_dict({**good, "groups": groups}, job)


def test_groups_with_fewer_than_k_homes_are_withheld() -> None:
    job = make_job(
        outputs=[{"name": "n", "kind": "count"}],
        sql="SELECT hour, COUNT(*) AS n FROM series_1h GROUP BY hour",
    )

    def doc(hours: list[int]) -> dict[str, Any]:
        groups = [{"key": [h], "values": {"n": {"count": 5 + h}}} for h in hours]
        return {
            "schema": "hems-job-result/1",
            "job_id": job.id,
            "keys": ["hour"],
            "privacy": None,
            "groups": groups,
        }

    docs = [doc([0, 1] if i < 4 else [0]) for i in range(6)]
    answer = combine(job, docs, k_min=5)
    assert answer["homes"] == 6 and answer["groups_withheld"] == 1
    assert answer["groups"] == [{"key": [0], "homes": 6, "values": {"n": {"count": 30.0}}}]


def test_laplace_noise_is_calibrated() -> None:
    """OpenDP's noise, as used for a job: its scale is Δ/ε per quantity, and the draws follow it."""
    privacy = Privacy(epsilon=1.0, bounds={"m": (0.0, 1000.0)})
    outputs = (Output("m", "mean"), Output("n", "count"))
    noise = Noise(privacy, outputs)
    assert noise.epsilon_each == pytest.approx(1 / 3)  # a mean is two quantities, a count one
    assert noise.scales == {
        "m": {"sum": pytest.approx(3000.0), "count": pytest.approx(3.0)},
        "n": {"count": 3.0},
    }
    draws = [noise.apply(outputs[0], {"sum": 0.0, "count": 0.0}) for _ in range(4000)]
    sums = sorted(d["sum"] for d in draws)

    # Kolmogorov-Smirnov against Laplace(0, 3000): at 4000 draws the 0.1% critical value is 1.95/sqrt(n)
    def cdf(x: float) -> float:
        return 0.5 * math.exp(x / 3000) if x < 0 else 1 - 0.5 * math.exp(-x / 3000)

    d = max(max(abs((i + 1) / len(sums) - cdf(x)), abs(i / len(sums) - cdf(x))) for i, x in enumerate(sums))
    assert d < 1.95 / math.sqrt(len(sums))
    counts = [d["count"] for d in draws]
    assert all(c == int(c) for c in counts)  # discrete Laplace for counts
    assert sum(abs(c) for c in counts) / len(counts) == pytest.approx(3.0, rel=0.1)  # E|X| = b


def test_gaussian_noise_meets_its_epsilon_delta() -> None:
    privacy = Privacy(epsilon=1.0, mechanism="gaussian", delta=1e-6, bounds={"s": (0.0, 100.0)})
    noise = Noise(privacy, (Output("s", "sum"),))
    sigma = noise.scales["s"]["sum"]
    classic = 100 * math.sqrt(2 * math.log(1.25 / 1e-6)) / 1.0  # the textbook bound, looser than zCDP's
    assert 0 < sigma <= classic
    draws = [noise.apply(Output("s", "sum"), {"sum": 0.0})["sum"] for _ in range(3000)]
    sd = math.sqrt(sum(x * x for x in draws) / len(draws))
    assert sd == pytest.approx(sigma, rel=0.1)
