"""Contracted power (Italian-style meters that disconnect after a tolerance time above the contract).

Rule of e-distribuzione electronic meters (domain.md §B.2, defaults configurable per DSO):
- up to ``available_factor`` × contract (3 kW → 3.3 kW) may be drawn for ever;
- up to ``fast_factor`` × contract (3 kW → 4 kW) for at most ``slow_s`` (3 h) in ``window_s``;
- above ``fast_factor`` × contract the meter disconnects after ``fast_s`` (2 min).

`ContractLimiter` integrates the measured import and says how long is left before a disconnection.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ContractState:
    """The limiter's outlook at one instant."""

    p_kw: float  #: present import [kW]
    contract_kw: float  #: contracted power ("potenza impegnata") [kW]
    band: str  #: "ok" | "tolerance" (above available, within the 3-h allowance) | "fast" (above fast)
    seconds_left: float  #: time to disconnection at the present power (inf: none) [s]
    tolerance_used_s: float  #: time spent above the available power within the window [s]


class ContractLimiter:
    """Tracks time above the contract's thresholds from import power samples."""

    def __init__(
        self,
        contract_kw: float,
        available_factor: float = 1.10,
        fast_factor: float = 4.0 / 3.0,
        fast_s: float = 120.0,
        slow_s: float = 3 * 3600.0,
        window_s: float = 24 * 3600.0,
    ) -> None:
        if contract_kw <= 0:
            raise ValueError(f"contracted power must be > 0 kW, got {contract_kw}")
        self.contract_kw = contract_kw
        self.available_kw = contract_kw * available_factor
        self.fast_kw = contract_kw * fast_factor
        self.fast_s = fast_s
        self.slow_s = slow_s
        self.window_s = window_s
        self._above: deque[tuple[datetime, float]] = deque()  # (time, seconds above available)
        self._fast_since: datetime | None = None
        self._last: datetime | None = None
        self._p_kw = 0.0

    def add(self, time: datetime, p_import_w: float) -> None:
        """A sample of import power [W] at ``time``; the previous power is held until ``time``."""
        if self._last is not None:
            dt = max((time - self._last).total_seconds(), 0.0)
            if self._p_kw > self.available_kw and dt > 0:
                self._above.append((time, dt))
        while self._above and (time - self._above[0][0]).total_seconds() > self.window_s:
            self._above.popleft()
        p_kw = max(p_import_w, 0.0) / 1000.0
        if p_kw > self.fast_kw:
            if self._fast_since is None:
                self._fast_since = time
        else:
            self._fast_since = None
        self._p_kw, self._last = p_kw, time

    def state(self, now: datetime) -> ContractState:
        used = sum(dt for _, dt in self._above)
        if self._fast_since is not None:
            band = "fast"
            left = max(self.fast_s - (now - self._fast_since).total_seconds(), 0.0)
            left = min(left, max(self.slow_s - used, 0.0))
        elif self._p_kw > self.available_kw:
            band = "tolerance"
            left = max(self.slow_s - used, 0.0)
        else:
            band, left = "ok", math.inf
        return ContractState(
            p_kw=self._p_kw,
            contract_kw=self.contract_kw,
            band=band,
            seconds_left=left,
            tolerance_used_s=used,
        )
