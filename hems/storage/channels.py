"""Channel names: how a snapshot's readings become stored series.

``grid.<field>`` for the smart meter, ``circuit.<id>.<field>``, ``pv.<field>``,
``appliance.<id>.p_w``. The field keeps its unit-carrying name (``p_import_w``, ``i_a``, ...). Only
numeric fields are stored; identity fields (meter id, clock) are not samples.
"""

from __future__ import annotations

from dataclasses import fields

from devices.natures import CircuitReading, GridReading, PvReading
from hems.snapshot import Snapshot

_SKIP = {"time", "meter_id", "meter_type", "meter_clock", "list_id", "raw"}
GRID_FIELDS = tuple(f.name for f in fields(GridReading) if f.name not in _SKIP)
CIRCUIT_FIELDS = tuple(f.name for f in fields(CircuitReading) if f.name not in _SKIP)
PV_FIELDS = tuple(f.name for f in fields(PvReading) if f.name not in _SKIP)


def snapshot_values(snapshot: Snapshot) -> dict[str, float]:
    """Every numeric value of a snapshot by channel name (missing readings are absent)."""
    out: dict[str, float] = {}
    if snapshot.grid is not None:
        for name in GRID_FIELDS:
            v = getattr(snapshot.grid, name)
            if v is not None:
                out[f"grid.{name}"] = float(v)
    for cid, reading in snapshot.circuits.items():
        for name in CIRCUIT_FIELDS:
            v = getattr(reading, name)
            if v is not None:
                out[f"circuit.{cid}.{name}"] = float(v)
    if snapshot.pv is not None:
        for name in PV_FIELDS:
            v = getattr(snapshot.pv, name)
            if v is not None:
                out[f"pv.{name}"] = float(v)
    for aid, state in snapshot.appliances.items():
        if state.p_w is not None:
            out[f"appliance.{aid}.p_w"] = float(state.p_w)
    return out


def unit_of(channel: str) -> str:
    """The unit suffix of a channel's field (``grid.p_import_w`` → ``w``; ``""`` when it has none)."""
    field = channel.rsplit(".", 1)[-1]
    return field.rsplit("_", 1)[-1] if "_" in field else ""


def as_stored(value: float, channel: str) -> float:
    """``value`` with the precision the channel is stored with (hems/storage/codec.py): 7 significant
    digits for float32 channels (5049.87, not 5049.86962890625), 15 for ``*_kwh`` registers."""
    digits = 15 if channel.endswith("_kwh") else 7
    return float(f"{float(value):.{digits}g}")
