"""MQTT topic names of hems (pure). Namespace ``hems/<site>/...``; see docs/control.md.

Appliance topics are ``hems/<site>/appliance/<id>/<leaf>`` with ``leaf`` one of `APPLIANCE_LEAVES`:
``request``, ``ack``, ``state`` (appliance → hems) and ``schedule``, ``set`` (hems → appliance;
rejections are also written on ``ack`` by hems).
"""

from __future__ import annotations

import re

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SITE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
APPLIANCE_LEAVES = ("request", "schedule", "set", "ack", "state")
FROM_APPLIANCE = ("request", "ack", "state")
HA_PREFIX = "homeassistant"
HA_STATUS = f"{HA_PREFIX}/status"


def _check(site: str, appliance: str | None = None) -> None:
    if not SITE_RE.match(site):
        raise ValueError(f"site id must be lowercase letters, digits and hyphens, got {site!r}")
    if appliance is not None and not ID_RE.match(appliance):
        raise ValueError(f"appliance id must match {ID_RE.pattern}, got {appliance!r}")


def base(site: str) -> str:
    _check(site)
    return f"hems/{site}"


def status(site: str) -> str:
    """Retained ``online``/``offline`` (the box's last will)."""
    return f"{base(site)}/status"


def state(site: str) -> str:
    """Retained JSON snapshot."""
    return f"{base(site)}/state"


def plan(site: str) -> str:
    """Retained day-ahead plan."""
    return f"{base(site)}/plan"


def alert(site: str) -> str:
    """Alert transitions (not retained)."""
    return f"{base(site)}/alert"


def appliance(site: str, appliance_id: str, leaf: str) -> str:
    """``hems/<site>/appliance/<id>/<leaf>``."""
    _check(site, appliance_id)
    if leaf not in APPLIANCE_LEAVES:
        raise ValueError(f"appliance topic leaf must be one of {APPLIANCE_LEAVES}, got {leaf!r}")
    return f"{base(site)}/appliance/{appliance_id}/{leaf}"


def appliance_filter(site: str, leaf: str) -> str:
    """Subscription filter for one leaf of every appliance: ``hems/<site>/appliance/+/<leaf>``."""
    if leaf not in APPLIANCE_LEAVES:
        raise ValueError(f"appliance topic leaf must be one of {APPLIANCE_LEAVES}, got {leaf!r}")
    return f"{base(site)}/appliance/+/{leaf}"


def parse_appliance_topic(site: str, topic: str) -> tuple[str, str] | None:
    """``(appliance_id, leaf)`` of an appliance topic of this site; None for anything else."""
    prefix = f"{base(site)}/appliance/"
    if not topic.startswith(prefix):
        return None
    parts = topic[len(prefix) :].split("/")
    if len(parts) != 2 or parts[1] not in APPLIANCE_LEAVES or not ID_RE.match(parts[0]):
        return None
    return parts[0], parts[1]


def ha_discovery(site: str, prefix: str = HA_PREFIX) -> str:
    """Home Assistant device-based discovery topic of the box."""
    _check(site)
    return f"{prefix}/device/hems_{site.replace('-', '_')}/config"
