"""Conformity checks on arrival (the DAISEE seed's first layer): flags stored beside each batch.

The data is never altered: a flag says what looks wrong so researchers can filter on it
(``batches.flags``, ``batches.quality_ok``, ``readings.quality_ok``). `check` returns only the flags
raised, each with its details:

- ``gaps``: slots without a value (``null``), per channel.
- ``duplicated_slots``: slots repeating the previous slot exactly in every channel while something
  is drawn (a stuck or forward-filled source).
- ``impossible_values``: values the site cannot produce: power beyond what its main fuse allows
  (x1.2), a phase voltage outside 230 V ±10 % (EN 50160), a current above 1.5x the main fuse,
  negative import, export or PV (beyond 50 W of inverter standby).
- ``circuits_above_meter``: slots where the circuits draw more than the house takes from the grid,
  the PV and the battery together (tolerance 5 % + 50 W).
- ``day_energy_mismatch``: the day's import or export from its slots differs from its own summary
  by more than 2 % + 0.1 kWh.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from research.store.tables import StoredBatch

NOMINAL_V = 230.0
VOLTAGE_BAND = (207.0, 253.0)  #: EN 50160: 230 V ±10 % [V]
_LINE_TO_LINE = re.compile(r"_l\d_?l\d_v$|_l\d\d_v$")  #: e.g. grid.u_l1l2_v, grid.u_l12_v
STANDBY_W = 50.0  #: an inverter's or meter's own draw, not a measurement error [W]


def _series(batch: StoredBatch, channel: str) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in batch.readings[channel]], dtype=np.float64)


def _max_power_w(site: dict[str, Any]) -> float:
    fuse = float(site.get("main_fuse_a") or 0.0)
    phases = {"TN": 3 * NOMINAL_V, "IT": math.sqrt(3) * NOMINAL_V, "1P": NOMINAL_V}
    return phases.get(str(site.get("network")), 3 * NOMINAL_V) * fuse


def check(batch: StoredBatch) -> dict[str, Any]:
    """The conformity flags raised by ``batch`` (empty: nothing found)."""
    if not batch.readings:
        return {}
    series = {c: _series(batch, c) for c in batch.readings}
    flags: dict[str, Any] = {}
    gaps = {c: int(np.isnan(v).sum()) for c, v in series.items() if np.isnan(v).any()}
    if gaps:
        flags["gaps"] = {"missing_slots": gaps}
    matrix = np.vstack(list(series.values()))
    same = np.all(
        (matrix[:, 1:] == matrix[:, :-1]) | (np.isnan(matrix[:, 1:]) & np.isnan(matrix[:, :-1])), axis=0
    )
    drawing = np.nansum(np.abs(matrix[:, 1:]), axis=0) > 0
    repeated = int(np.sum(same & drawing))
    if repeated:
        flags["duplicated_slots"] = {"slots": repeated}
    impossible = _impossible(batch, series)
    if impossible:
        flags["impossible_values"] = impossible
    above = _circuits_above_meter(series)
    if above:
        flags["circuits_above_meter"] = {"slots": above}
    mismatch = _energy_mismatch(batch, series)
    if mismatch:
        flags["day_energy_mismatch"] = mismatch
    return flags


def _impossible(batch: StoredBatch, series: dict[str, np.ndarray]) -> dict[str, Any]:
    p_max = _max_power_w(batch.site) * 1.2
    i_max = float(batch.site.get("main_fuse_a") or 0.0) * 1.5
    found: dict[str, int] = {}
    for channel, v in series.items():
        if channel.endswith("_w"):
            bad = np.abs(v) > p_max if p_max > 0 else np.zeros(v.shape, bool)
            if channel in ("grid.p_import_w", "grid.p_export_w", "pv.p_w"):
                bad |= v < -STANDBY_W
        elif channel.endswith("_v"):
            scale = math.sqrt(3) if _LINE_TO_LINE.search(channel) else 1.0
            bad = (v < VOLTAGE_BAND[0] * scale) | (v > VOLTAGE_BAND[1] * scale)
        elif channel.endswith("_a"):
            bad = np.abs(v) > i_max if i_max > 0 else np.zeros(v.shape, bool)
        else:
            continue
        n = int(np.sum(bad & ~np.isnan(v)))
        if n:
            found[channel] = n
    if not found:
        return {}
    return {"slots": found, "max_power_w": round(p_max, 1), "max_current_a": i_max, "voltage_v": VOLTAGE_BAND}


def _circuits_above_meter(series: dict[str, np.ndarray]) -> int:
    circuits = [v for c, v in series.items() if c.startswith("circuit.") and c.endswith(".p_w")]
    if not circuits or "grid.p_import_w" not in series:
        return 0
    zero = np.zeros_like(series["grid.p_import_w"])
    house = (
        series["grid.p_import_w"]
        - series.get("grid.p_export_w", zero)
        + series.get("pv.p_w", zero)
        - series.get("battery.p_w", zero)  # charging is positive
    )
    total = np.sum(np.vstack(circuits), axis=0)
    over = total > house * 1.05 + STANDBY_W
    return int(np.sum(over & ~np.isnan(total) & ~np.isnan(house)))


def _energy_mismatch(batch: StoredBatch, series: dict[str, np.ndarray]) -> dict[str, Any]:
    house = batch.summary.get("house") if isinstance(batch.summary, dict) else None
    if not isinstance(house, dict):
        return {}
    hours = batch.resolution_s / 3600.0
    out: dict[str, Any] = {}
    for channel, key in (("grid.p_import_w", "import_kwh"), ("grid.p_export_w", "export_kwh")):
        stated = house.get(key)
        if channel not in series or not isinstance(stated, int | float):
            continue
        values = series[channel]
        if np.isnan(values).all():
            continue
        from_slots = float(np.nansum(values)) * hours / 1000.0
        if abs(from_slots - stated) > 0.02 * abs(stated) + 0.1:
            out[key] = {"from_slots": round(from_slots, 3), "summary": stated}
    return out
