"""One answer from many boxes' results: merged per group, released only where k homes contributed.

For each group (the values of the job's keys) the partials of every box that has the group are
merged (`wire.results.merge_partial`: sums and counts add, min/max take the extreme, histograms add
bin by bin, quantile sketches merge exactly), then finished for the researcher (a mean is the
total sum over the total count). A group is released only when at least ``k`` homes contributed to
it, ``k`` being the job's or the server's minimum, whichever is larger; the rest are counted as
withheld, never shown. With differential privacy each box's noise is independent: the answer states
the standard deviation of the combined noise of every count and sum.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from wire.jobs import Job
from wire.results import JobResult, Key, finish, merge_partial, sort_keys

ANSWER_SCHEMA = "hems-job-answer/1"
SERVER_K_MIN = 5  #: the server never releases a group with fewer homes, whatever the job says


def _noise_variance(privacy: dict[str, Any] | None, output: str, part: str) -> float:
    if not privacy:
        return 0.0
    scale = float(privacy.get("scales", {}).get(output, {}).get(part, 0.0))
    return 2 * scale**2 if privacy.get("mechanism") == "laplace" else scale**2


def combine(job: Job, results: Iterable[dict[str, Any]], *, k_min: int = SERVER_K_MIN) -> dict[str, Any]:
    """The researcher's answer from the boxes' result documents (each checked against ``job``).

    One document per home: the caller (the server's store) keeps the latest result of each home.
    """
    k = max(job.k, k_min, SERVER_K_MIN)  # a server started with a smaller --k is still held to 5
    merged: dict[Key, dict[str, dict[str, Any]]] = {}
    homes: dict[Key, int] = {}
    variance: dict[Key, dict[str, dict[str, float]]] = {}
    contributors = 0
    for doc in results:
        result = JobResult.from_dict(doc, job)
        contributors += 1
        for key, values in result.groups.items():
            homes[key] = homes.get(key, 0) + 1
            if key not in merged:
                merged[key] = values
            else:
                merged[key] = {
                    o.name: merge_partial(o, merged[key][o.name], values[o.name]) for o in job.outputs
                }
            var = variance.setdefault(key, {})
            for o in job.outputs:
                for part in ("count", "sum", "counts"):
                    v = _noise_variance(result.privacy, o.name, part)
                    if v:
                        var.setdefault(o.name, {})[part] = var.get(o.name, {}).get(part, 0.0) + v
    groups = []
    withheld = 0
    for key in sort_keys(list(merged)):
        if homes[key] < k:
            withheld += 1
            continue
        values = {o.name: finish(o, merged[key][o.name]) for o in job.outputs}
        group: dict[str, Any] = {"key": list(key), "homes": homes[key], "values": values}
        if variance.get(key):
            group["noise_sd"] = {
                name: {part: math.sqrt(v) for part, v in parts.items()}
                for name, parts in variance[key].items()
            }
        groups.append(group)
    return {
        "schema": ANSWER_SCHEMA,
        "job_id": job.id,
        "keys": list(job.keys),
        "k": k,
        "homes": contributors,
        "groups": groups,
        "groups_withheld": withheld,
        "privacy": None if job.privacy is None else job.privacy.to_dict(),
    }
