"""When will a breaker trip? A thermal image of an MCB (IEC 60898-1 curves B/C/D) or a gG fuse.

The thermal part is the standard "thermal replica" (IEC 60255-149 overload law, an I²t integrator with
cooling): with x = I/In and normalised heat θ (θ = 1 ≙ steady state at In),

    dθ/dt = (x² − θ) / τ,      trip when θ ≥ k²,

so a constant current x from heat θ0 trips after ``t = τ · ln((x² − θ0) / (x² − k²))`` for x > k, and
each sample updates ``θ ← x² + (θ − x²) · e^(−Δt/τ)`` (which also cools the breaker when the current
falls). The magnetic part is instantaneous: below ``instant_no_trip`` × In a breaker must not trip
within 0.1 s, from ``instant_trip`` × In it must.

The default parameters are chosen to satisfy the conventional points of IEC 60898-1 (In ≤ 63 A):
no trip at 1.13 In within 1 h from cold, trip at 1.45 In within 1 h after that, 1 s < t < 60 s at
2.55 In from cold; and they sit at the fast end of the allowed band, so the model warns early ("may
trip"), never late. See /work/shared/research/domain.md §C.1–C.2 and docs/control.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Curve = Literal["B", "C", "D", "gG"]
Instant = Literal["no", "possible", "certain"]


@dataclass(frozen=True, slots=True)
class BreakerCurve:
    """Trip characteristic of one breaker or fuse, in multiples of its rating."""

    k: float  #: thermal trip threshold, trip when heat ≥ k² (1.13 < k < 1.45 for an MCB) [× In]
    tau_s: float  #: thermal time constant [s]
    instant_no_trip: float  #: no magnetic trip at or below this current [× In]
    instant_trip: float  #: certain magnetic trip at or above this current (inf for a fuse) [× In]


#: IEC 60898-1 magnetic bands (B 3–5, C 5–10, D 10–20 In) and a thermal image that meets the table.
#: gG fuses (IEC 60269, 16–63 A): non-fusing 1.25 In, fusing 1.6 In within 1 h, no magnetic part.
CURVES: dict[str, BreakerCurve] = {
    "B": BreakerCurve(k=1.25, tau_s=150.0, instant_no_trip=3.0, instant_trip=5.0),
    "C": BreakerCurve(k=1.25, tau_s=150.0, instant_no_trip=5.0, instant_trip=10.0),
    "D": BreakerCurve(k=1.25, tau_s=150.0, instant_no_trip=10.0, instant_trip=20.0),
    "gG": BreakerCurve(k=1.35, tau_s=600.0, instant_no_trip=math.inf, instant_trip=math.inf),
}


@dataclass(frozen=True, slots=True)
class TripEstimate:
    """What the model expects at the present current."""

    ratio: float  #: present current over rating [× In]
    heat: float  #: normalised thermal state θ (1 = steady state at In) [-]
    seconds: float  #: time to a thermal trip if the current stays as it is (inf: never) [s]
    instant: Instant  #: magnetic trip: "no", "possible" (inside the band) or "certain"


class ThermalBreaker:
    """The thermal image of one breaker (or one line of a main fuse), fed with measured currents.

    ``rating_a`` is In [A]; feed `update(current_a, dt_s)` once per sample, read `estimate()`.
    """

    def __init__(self, rating_a: float, curve: Curve | str = "C", heat: float = 0.0) -> None:
        if rating_a <= 0:
            raise ValueError(f"breaker rating must be > 0 A, got {rating_a}")
        if curve not in CURVES:
            raise ValueError(f"breaker curve must be one of {sorted(CURVES)}, got {curve!r}")
        self.rating_a = rating_a
        self.curve_name = curve
        self.curve = CURVES[curve]
        self.heat = heat  #: θ [-]
        self.ratio = 0.0  #: last current [× In]

    def update(self, current_a: float, dt_s: float) -> None:
        """Advance the thermal state by ``dt_s`` [s] at ``current_a`` [A] (held over the interval)."""
        x = abs(current_a) / self.rating_a
        if dt_s > 0:
            x2 = x * x
            self.heat = x2 + (self.heat - x2) * math.exp(-dt_s / self.curve.tau_s)
        self.ratio = x

    @property
    def tripped(self) -> bool:
        """True once the thermal state has reached the trip threshold (θ ≥ k²)."""
        return self.heat >= self.curve.k**2

    def seconds_to_trip(self, ratio: float | None = None) -> float:
        """Time to a thermal trip at a constant current ``ratio`` [× In] from the present heat [s]."""
        x = self.ratio if ratio is None else ratio
        return thermal_seconds(x, self.heat, self.curve)

    def estimate(self) -> TripEstimate:
        return TripEstimate(
            ratio=self.ratio,
            heat=self.heat,
            seconds=self.seconds_to_trip(),
            instant=instant_region(self.ratio, self.curve),
        )


def thermal_seconds(ratio: float, heat: float, curve: BreakerCurve) -> float:
    """Thermal time to trip at a constant ``ratio`` [× In] from heat θ0 = ``heat`` [s] (inf: never)."""
    k2 = curve.k**2
    if heat >= k2:
        return 0.0
    x2 = ratio * ratio
    if x2 <= k2:
        return math.inf
    return curve.tau_s * math.log((x2 - heat) / (x2 - k2))


def instant_region(ratio: float, curve: BreakerCurve) -> Instant:
    """Where ``ratio`` [× In] sits in the magnetic (instantaneous) characteristic."""
    if ratio >= curve.instant_trip:
        return "certain"
    if ratio > curve.instant_no_trip:
        return "possible"
    return "no"
