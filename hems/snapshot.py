"""The immutable snapshot the daemon takes each cycle: every device's reading, or why it is missing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Mapping

from devices.natures import ApplianceState, CircuitReading, GridReading, PvReading


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
