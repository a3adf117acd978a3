"""The immutable snapshot the daemon takes each cycle: every device's reading, or why it is missing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING

from devices.natures import ApplianceState, CircuitReading, GridReading, PvReading

if TYPE_CHECKING:
    from hems.config import HemsConfig


@dataclass(frozen=True, slots=True)
class Snapshot:
    """All readings of one cycle. A device that failed is absent from its mapping and named in
    ``errors`` (device id → reason); ``grid``/``pv`` are None when missing or not configured."""

    time: datetime  #: the cycle's instant (UTC), from the injected clock
    grid: GridReading | None = None
    circuits: Mapping[str, CircuitReading] = field(default_factory=lambda: MappingProxyType({}))
    pv: PvReading | None = None
    appliances: Mapping[str, ApplianceState] = field(default_factory=lambda: MappingProxyType({}))
    errors: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def _reading_dict(reading: object) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in reading.__dataclass_fields__:  # type: ignore[attr-defined]
        if name == "raw":
            continue
        value = getattr(reading, name)
        if value is None:
            continue
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def snapshot_to_dict(snapshot: Snapshot) -> dict[str, object]:
    """The JSON form of a snapshot (MQTT `state`, the live state file the dashboard reads).

    ``{"time": ISO-UTC, "grid": {...} | null, "circuits": {id: {...}}, "pv": {...} | null,
    "appliances": {id: {...}}, "errors": {device: reason}}``; reading fields with unit-carrying names,
    absent fields omitted (unknown is not zero).
    """
    return {
        "time": snapshot.time.isoformat(),
        "grid": _reading_dict(snapshot.grid) if snapshot.grid else None,
        "circuits": {cid: _reading_dict(r) for cid, r in snapshot.circuits.items()},
        "pv": _reading_dict(snapshot.pv) if snapshot.pv else None,
        "appliances": {aid: _reading_dict(s) for aid, s in snapshot.appliances.items()},
        "errors": dict(snapshot.errors),
    }


def site_state(config: HemsConfig) -> dict[str, object]:
    """The parts of the live state that come from the configuration, not from a cycle: the site's
    facts and each circuit's breaker (``"site"`` and ``"circuit_info"``)."""
    site = config.site
    return {
        "site": {
            "id": site.id,
            "main_fuse_a": site.main_fuse_a,
            "network": site.network,
            "voltage_v": site.voltage_v,
            "timezone": site.timezone,
        },
        "circuit_info": {
            c.id: {"name": c.name or c.id, "line": c.line, "breaker_a": c.breaker_a, "curve": c.curve}
            for c in config.circuit
        },
    }
