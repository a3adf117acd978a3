"""The simulated household's electrical layout: fuse circuits, their lines and breakers.

The twin is a detached Norwegian house of ~150 m² with 12 metered circuits. On a TN (400 V) site the
single-phase circuits sit between a line and neutral; on an IT (230 V) site they are 2-pole, between two
lines; on a 1P site everything is on L1. Line currents are computed as phasor sums, so an IT network's
line currents are right (an element between L1 and L2 draws on both lines, 30° apart).
"""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass

SQRT3 = math.sqrt(3.0)
# phasor angle [rad] of each phase-to-neutral voltage and each line-to-line voltage
_PHASE = {"L1": 0.0, "L2": -2 * math.pi / 3, "L3": 2 * math.pi / 3}
_PAIR = {"L1L2": math.pi / 6, "L2L3": -math.pi / 2, "L1L3": -5 * math.pi / 6}  # V13 = -V31


@dataclass(frozen=True, slots=True)
class SimCircuit:
    id: str
    name: str
    line: str  # "L1" | "L2" | "L3" | "L1L2" | "L2L3" | "L1L3" | "3P"
    breaker_a: float
    curve: str = "C"


# (id, name, TN line, IT line, breaker [A], curve)
_CIRCUITS: tuple[tuple[str, str, str, str, float, str], ...] = (
    ("lights", "Lighting", "L1", "L1L2", 10, "B"),
    ("living-sockets", "Living room sockets", "L2", "L2L3", 16, "C"),
    ("kitchen-sockets", "Kitchen sockets", "L3", "L1L3", 16, "C"),
    ("stove", "Cooker", "3P", "3P", 16, "C"),
    ("dishwasher", "Dishwasher", "L1", "L1L2", 16, "C"),
    ("washer", "Washing machine", "L2", "L2L3", 16, "C"),
    ("water-heater", "Water heater", "L3", "L1L3", 16, "C"),
    ("heaters-living", "Panel heaters, living", "L1", "L1L2", 16, "C"),
    ("heaters-bedrooms", "Panel heaters, bedrooms", "L2", "L2L3", 16, "C"),
    ("bathroom-floor", "Bathroom floor heating", "L3", "L1L3", 16, "C"),
    ("fridge", "Fridge, freezer, network", "L1", "L1L2", 10, "C"),
    ("ev-charger", "EV charger", "3P", "3P", 16, "C"),
)


def household_circuits(network: str) -> list[SimCircuit]:
    out = []
    for cid, name, tn, it, breaker, curve in _CIRCUITS:
        line = {"TN": tn, "IT": it}.get(network, "L1")
        out.append(SimCircuit(cid, name, line, breaker, curve))
    return out


def element_currents(p_w: float, line: str, network: str, voltage_v: float) -> dict[str, complex]:
    """Current phasors [A] an element of active power ``p_w`` [W] (negative = producing) at unity power
    factor draws on each line it touches."""
    if network == "1P":
        return {"L1": complex(p_w / voltage_v)}
    if line == "3P":
        per = p_w / (3 * voltage_v) if network == "TN" else p_w / (SQRT3 * voltage_v)
        return {ln: per * cmath.exp(1j * ang) for ln, ang in _PHASE.items()}
    if network == "TN":
        return {line: p_w / voltage_v * cmath.exp(1j * _PHASE[line])}
    pair = line if line in _PAIR else {"L2L1": "L1L2", "L3L2": "L2L3", "L3L1": "L1L3"}[line]
    i = p_w / voltage_v * cmath.exp(1j * _PAIR[pair])
    a, b = pair[:2], pair[2:]
    return {a: i, b: -i}  # out on the first line, back on the second


def circuit_current_a(p_w: float, line: str, network: str, voltage_v: float) -> float:
    """The current [A] a circuit meter on this circuit measures (the largest of its conductors)."""
    return max((abs(i) for i in element_currents(p_w, line, network, voltage_v).values()), default=0.0)
