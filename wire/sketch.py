"""A mergeable quantile sketch with a relative-error guarantee (the DDSketch construction).

Values are counted in logarithmic buckets: bucket ``i`` holds the magnitudes in
``(γ^(i-1), γ^i]`` with ``γ = (1 + α) / (1 - α)``, and is represented by ``2γ^i / (γ + 1)``, which
is within a relative ``α`` of every value in it. Negative values have their own buckets, values of
magnitude below `MIN_MAGNITUDE` count as zero. Merging adds bucket counts, so the sketch of many
boxes merged is exactly the sketch of all their values together: the combined quantile is within
``α`` (relative) of the exact quantile of the union, however the values were split.

``quantile(q)`` estimates the value of rank ``floor(q · (n - 1))`` (0-based, ascending), the lower
of the two middle values for an even median. Reference: Masson, Rim & Lee, "DDSketch: a fast and
fully-mergeable quantile sketch with relative-error guarantees", VLDB 2019.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from wire.errors import WireError

ALPHA = 0.01  #: the relative accuracy every hems sketch uses (so all sketches merge)
MIN_MAGNITUDE = 1e-9  #: smaller magnitudes count as zero
MAX_BUCKETS = 4096  #: a sketch document with more buckets than this is refused


class QuantileSketch:
    def __init__(self, alpha: float = ALPHA) -> None:
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
        self.alpha = alpha
        self.gamma = (1 + alpha) / (1 - alpha)
        self._log_gamma = math.log(self.gamma)
        self.positive: dict[int, int] = {}
        self.negative: dict[int, int] = {}
        self.zero = 0

    @property
    def count(self) -> int:
        return self.zero + sum(self.positive.values()) + sum(self.negative.values())

    def _index(self, magnitude: float) -> int:
        return math.ceil(math.log(magnitude) / self._log_gamma)

    def _value(self, index: int) -> float:
        return 2 * self.gamma**index / (self.gamma + 1)

    def add(self, value: float, count: int = 1) -> None:
        if value is None or not math.isfinite(value):
            return
        if abs(value) < MIN_MAGNITUDE:
            self.zero += count
        elif value > 0:
            i = self._index(value)
            self.positive[i] = self.positive.get(i, 0) + count
        else:
            i = self._index(-value)
            self.negative[i] = self.negative.get(i, 0) + count

    def extend(self, values: Iterable[float]) -> None:
        for v in values:
            self.add(v)

    def merge(self, other: QuantileSketch) -> None:
        if other.alpha != self.alpha:
            raise ValueError(f"cannot merge sketches of accuracy {self.alpha} and {other.alpha}")
        for mine, theirs in ((self.positive, other.positive), (self.negative, other.negative)):
            for i, n in theirs.items():
                mine[i] = mine.get(i, 0) + n
        self.zero += other.zero

    def quantile(self, q: float) -> float | None:
        """The estimated value of rank ``floor(q · (n - 1))``; None for an empty sketch."""
        n = self.count
        if n == 0:
            return None
        rank = math.floor(min(max(q, 0.0), 1.0) * (n - 1))
        seen = 0
        for i in sorted(self.negative, reverse=True):  # most negative first
            seen += self.negative[i]
            if seen > rank:
                return -self._value(i)
        seen += self.zero
        if seen > rank:
            return 0.0
        for i in sorted(self.positive):
            seen += self.positive[i]
            if seen > rank:
                return self._value(i)
        return self._value(max(self.positive)) if self.positive else 0.0

    def buckets(self) -> int:
        return len(self.positive) + len(self.negative) + (1 if self.zero else 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "zero": self.zero,
            "positive": [[i, n] for i, n in sorted(self.positive.items())],
            "negative": [[i, n] for i, n in sorted(self.negative.items())],
        }

    @classmethod
    def from_dict(cls, doc: Any) -> QuantileSketch:
        if not isinstance(doc, dict):
            raise WireError("sketch: expected an object")
        alpha = doc.get("alpha")
        if alpha != ALPHA:
            raise WireError(f"sketch.alpha: expected {ALPHA}, got {alpha!r}")
        sketch = cls(alpha)
        zero = doc.get("zero", 0)
        if isinstance(zero, bool) or not isinstance(zero, int) or zero < 0:
            raise WireError(f"sketch.zero: expected a count, got {zero!r}")
        sketch.zero = zero
        for side in ("positive", "negative"):
            pairs = doc.get(side, [])
            if not isinstance(pairs, list) or len(pairs) > MAX_BUCKETS:
                raise WireError(f"sketch.{side}: expected at most {MAX_BUCKETS} [index, count] pairs")
            store = getattr(sketch, side)
            for pair in pairs:
                ok = isinstance(pair, list) and len(pair) == 2
                if not ok or not all(isinstance(x, int) and not isinstance(x, bool) for x in pair):
                    raise WireError(f"sketch.{side}: expected [index, count] integer pairs, got {pair!r}")
                if pair[1] < 0 or abs(pair[0]) > 100_000:
                    raise WireError(f"sketch.{side}: bucket {pair!r} out of range")
                store[pair[0]] = store.get(pair[0], 0) + pair[1]
        return sketch
