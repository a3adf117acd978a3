"""What the daemon hands a job's worker: the channels it may copy and the facts of the configuration.

Computed in the daemon's process from the storage and the configuration, so the worker never sees
the configuration (nor the [contact] section) and imports nothing of telemetry.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import Any

from hems.telemetry.privacy import channel_allowed
from wire.jobs import VIEWS


def wanted_channels(
    stored: Iterable[str], job_patterns: Iterable[str], household_patterns: Iterable[str]
) -> list[str]:
    """Channels the copy holds: stored, asked for by the job and allowed by the household (never
    a cumulative energy register, whatever either says)."""
    job = list(job_patterns)
    return [
        c
        for c in stored
        if channel_allowed(c, household_patterns) and any(fnmatch.fnmatchcase(c, p) for p in job)
    ]


def box_facts(
    site: Any, circuits: Iterable[Any], appliances: Iterable[Any]
) -> dict[str, list[dict[str, Any]]]:
    """Rows of the ``site``, ``circuits`` and ``appliances`` views from the configuration.

    ``site`` is the de-identified `hems.telemetry.SiteFacts` (cut postcode); circuits and appliances
    keep only their documented columns — never a circuit's free-text name or a meter's address.
    """
    return {
        "site": [{k: v for k, v in site.to_dict().items() if k in VIEWS["site"]}],
        "circuits": [
            {
                "id": c.id,
                "line": c.line,
                "breaker_a": c.breaker_a,
                "curve": c.curve,
                "metered": int(c.meter is not None),
            }
            for c in circuits
        ],
        "appliances": [
            {
                "id": a.id,
                "kind": a.kind,
                "circuit": a.circuit,
                "power_kw": a.power_kw,
                "sheddable": int(a.sheddable),
                "interruptible": int(a.interruptible),
            }
            for a in appliances
        ],
    }
