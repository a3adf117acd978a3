"""Rollup resolutions, slot alignment, and the incremental accumulators.

Resolutions: "1m", "15m", "1h" are aligned to UTC (and so to local time in every zone whose offset is
a whole hour); "1d" is the LOCAL calendar day of the household's time zone (23, 24 or 25 hours), so a
day's rollup is the day a household means. A slot is the half-open interval [start, next start).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

ROLLUPS: tuple[str, ...] = ("1m", "15m", "1h", "1d")
RESOLUTIONS: tuple[str, ...] = ("raw", *ROLLUPS)
_FIXED_SECONDS = {"1m": 60, "15m": 900, "1h": 3600}


def slot_start(resolution: str, t: int, tz: ZoneInfo) -> int:
    """Start [unix s] of the slot of ``resolution`` that contains instant ``t`` [unix s]."""
    step = _FIXED_SECONDS.get(resolution)
    if step is not None:
        return t - t % step
    if resolution != "1d":
        raise ValueError(f"unknown resolution {resolution!r}; expected one of {', '.join(ROLLUPS)}")
    local = datetime.fromtimestamp(t, UTC).astimezone(tz)
    midnight = datetime(local.year, local.month, local.day, tzinfo=tz)
    return int(midnight.timestamp())


def next_slot(resolution: str, start: int, tz: ZoneInfo) -> int:
    """Start of the slot after the one starting at ``start``."""
    step = _FIXED_SECONDS.get(resolution)
    if step is not None:
        return start + step
    local = datetime.fromtimestamp(start, UTC).astimezone(tz)
    following = (local.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=tz)
    return int(datetime(following.year, following.month, following.day, tzinfo=tz).timestamp())


@dataclass
class Accumulator:
    """Running mean/min/max/count per channel for one open slot."""

    start: int
    sums: list[float] = field(default_factory=list)
    mins: list[float] = field(default_factory=list)
    maxs: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    def add(self, values: list[float]) -> None:
        grow = len(values) - len(self.sums)
        if grow > 0:
            self.sums += [0.0] * grow
            self.mins += [math.inf] * grow
            self.maxs += [-math.inf] * grow
            self.counts += [0] * grow
        for i, v in enumerate(values):
            if v != v:  # NaN: missing this cycle
                continue
            self.sums[i] += v
            self.counts[i] += 1
            if v < self.mins[i]:
                self.mins[i] = v
            if v > self.maxs[i]:
                self.maxs[i] = v

    def stats(self) -> list[tuple[float, float, float, int]]:
        out = []
        for s, lo, hi, n in zip(self.sums, self.mins, self.maxs, self.counts, strict=True):
            if n:
                out.append((s / n, lo, hi, n))
            else:
                out.append((math.nan, math.nan, math.nan, 0))
        return out

    @property
    def empty(self) -> bool:
        return not any(self.counts)
