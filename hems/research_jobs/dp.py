"""Differential-privacy noise for a job's result, drawn by OpenDP (the `dp` extra).

Calibration (`wire.jobs.Privacy`): the unit protected is one row of the aggregated view. Adding or
removing one row changes one group's count by 1, its clamped sum by at most ``B = max(|lo|, |hi|)``
and its histogram by 1 in one bin (L1 and L2 sensitivity 1). The job's ε (and δ) is split evenly
over the noisy quantities of a group — a count, a sum and a histogram are one each, a mean two (its
sum and its count) — and groups are disjoint, so they compose in parallel.

- Laplace: scale ``b = Δ / ε_q`` for each quantity (``Δ`` its sensitivity, ``ε_q`` its share), pure
  ε-DP. Counts and histogram bins get OpenDP's discrete Laplace (integers stay integers), sums its
  floating-point-safe continuous Laplace. Each scale is checked against OpenDP's own privacy map.
- Gaussian: the smallest σ whose zCDP guarantee, converted to (ε, δ) by OpenDP, meets ``(ε_q, δ_q)``.

OpenDP is imported only when a job asks for noise; a box without it refuses such jobs with a reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from wire.jobs import Output, Privacy


class NoiseUnavailable(RuntimeError):
    """OpenDP is not installed on this box."""


def _opendp() -> Any:
    try:
        import opendp.prelude as dp
    except ImportError:
        raise NoiseUnavailable(
            "this box cannot add differential-privacy noise: OpenDP is not installed (pip install 'hems[dp]')"
        ) from None
    dp.enable_features("contrib")
    return dp


def available() -> bool:
    try:
        _opendp()
    except NoiseUnavailable:
        return False
    return True


def quantities(output: Output) -> int:
    """Noisy quantities one output adds to a group."""
    return 2 if output.kind == "mean" else 1


def sensitivity(output: Output, part: str, privacy: Privacy) -> float:
    if part == "sum":
        lo, hi = privacy.bounds[output.name]
        return max(abs(lo), abs(hi))
    return 1.0


@dataclass
class Mechanism:
    """One calibrated noise source: ``scale`` is Laplace's b or Gaussian's σ."""

    scale: float
    integer: bool
    _measure: Any

    def __call__(self, value: float) -> float:
        if self.integer:
            return float(self._measure(round(value)))
        return float(self._measure(float(value)))


class Noise:
    """The calibrated mechanisms of one job, built once and applied to every group."""

    def __init__(self, privacy: Privacy, outputs: tuple[Output, ...]) -> None:
        self.dp = _opendp()
        self.privacy = privacy
        total = sum(quantities(o) for o in outputs)
        self.epsilon_each = privacy.epsilon / total
        self.delta_each = privacy.delta / total
        self._cache: dict[tuple[float, bool], Mechanism] = {}
        self.scales: dict[str, dict[str, float]] = {}
        for o in outputs:
            parts = {"count": ("count",), "sum": ("sum",), "mean": ("sum", "count"), "histogram": ("counts",)}
            self.scales[o.name] = {p: self.mechanism(o, p).scale for p in parts[o.kind]}

    def mechanism(self, output: Output, part: str) -> Mechanism:
        delta_in = sensitivity(output, part, self.privacy)
        integer = part in ("count", "counts")
        key = (delta_in, integer)
        if key not in self._cache:
            if self.privacy.mechanism == "laplace":
                self._cache[key] = self._laplace(delta_in, integer)
            else:
                self._cache[key] = self._gaussian(delta_in, integer)
        return self._cache[key]

    def _space(self, integer: bool) -> tuple[Any, Any]:
        dp = self.dp
        if integer:
            return dp.atom_domain(T=int), dp.absolute_distance(T=int)
        return dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float)

    def _laplace(self, delta_in: float, integer: bool) -> Mechanism:
        domain, metric = self._space(integer)
        scale = delta_in / self.epsilon_each
        measure = self.dp.m.make_laplace(domain, metric, scale=scale)
        d_in = math.ceil(delta_in) if integer else delta_in
        spent = measure.map(d_in)
        if spent > self.epsilon_each * (1 + 1e-9):
            raise RuntimeError(f"Laplace calibration: ε {spent} exceeds the share {self.epsilon_each}")
        return Mechanism(scale, integer, measure)

    def _gaussian(self, delta_in: float, integer: bool) -> Mechanism:
        dp = self.dp
        domain, metric = self._space(integer)
        d_in = math.ceil(delta_in) if integer else delta_in

        def build(scale: float) -> Any:
            gaussian = dp.m.make_gaussian(domain, metric, scale=scale)
            return dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(gaussian), self.delta_each)

        scale = dp.binary_search_param(build, d_in=d_in, d_out=(self.epsilon_each, self.delta_each))
        measure = dp.m.make_gaussian(domain, metric, scale=scale)
        return Mechanism(scale, integer, measure)

    def apply(self, output: Output, partial: dict[str, Any]) -> dict[str, Any]:
        """The noisy partial of one group's output."""
        if output.kind == "histogram":
            noisy = self.mechanism(output, "counts")
            return {"counts": [noisy(c) for c in partial["counts"]]}
        return {part: self.mechanism(output, part)(value) for part, value in partial.items()}

    def describe(self) -> dict[str, Any]:
        """What the result says about its noise (so the server can state the combined error)."""
        out: dict[str, Any] = {
            "mechanism": self.privacy.mechanism,
            "epsilon": self.privacy.epsilon,
            "unit": "one row of the aggregated view",
            "scales": self.scales,
        }
        if self.privacy.delta:
            out["delta"] = self.privacy.delta
        return out
