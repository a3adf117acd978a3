"""Capacity tariff ("kapasitetsledd"): will this clock hour push the month into a higher step?

The month's step is chosen by the mean of the three largest daily peaks, a daily peak being the
largest hourly energy of that day [kWh/h ≙ kW] (domain.md §A.2). This module tracks the energy of the
running clock hour from measured import power, projects the hour's total, and says which step the
month would land in and what that costs. Pure bookkeeping: times come in with each sample. In the
month's first two days the missing days count as the worst day so far (`padded`).
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def top3_mean(peaks: list[float]) -> float:
    """Mean of the three largest values, padded with zeros to three [kW]."""
    best = sorted(peaks, reverse=True)[:3]
    return sum(best) / 3.0


def padded(others: list[float], today_kw: float) -> list[float]:
    """The other days' peaks of the month, with the month's first days filled in [kW].

    Until three days of the month are known, a missing day counts as the worst day so far rather
    than as zero: the days still to come will have peaks too, so a step the month cannot keep is
    not defended (on the 1st at 01:00 the month is not "in the 0–2 kW step")."""
    known = len(others) + 1
    if known >= 3:
        return list(others)
    return [*others, *[max([*others, today_kw])] * (3 - known)]


def step_index(value_kw: float, step_upper_kw: list[float]) -> int:
    """Index of the first step whose upper bound is ≥ ``value_kw`` (len(bounds) for the open step)."""
    return bisect.bisect_left(step_upper_kw, value_kw)


@dataclass(frozen=True, slots=True)
class CapacityProjection:
    """The capacity-tariff outlook at one instant."""

    hour_start: datetime  #: start of the running clock hour (UTC)
    energy_so_far_kwh: float  #: import energy of the running hour so far [kWh]
    projected_kwh: float  #: the hour's projected energy [kWh] (≙ its mean power [kW])
    month_mean_kw: float  #: mean of the month's top-3 daily peaks without this hour [kW]
    projected_mean_kw: float  #: the same with this hour's projection [kW]
    step_now: int  #: step index without this hour
    step_projected: int  #: step index with this hour's projection
    extra_cost: float  #: price difference per month of the higher step [currency/month]
    limit_kwh: float  #: largest energy of this hour that keeps the month in step_now [kWh]
    remaining_s: float  #: seconds left in the hour [s]

    @property
    def crosses(self) -> bool:
        return self.step_projected > self.step_now

    @property
    def headroom_kw(self) -> float:
        """Mean power allowed for the rest of the hour that keeps the step [kW] (negative: too late)."""
        if self.remaining_s <= 0:
            return 0.0
        return (self.limit_kwh - self.energy_so_far_kwh) / (self.remaining_s / 3600.0)


class CapacityTracker:
    """Integrates import power per clock hour and keeps the month's daily peaks (site local time).

    ``step_upper_kw``: upper bounds of the steps [kW]; ``step_price``: price of each step per month
    (one more than bounds) [currency/month]; ``recent_s``: window of the power used to project the rest
    of the hour [s].
    """

    def __init__(
        self,
        step_upper_kw: list[float],
        step_price: list[float],
        timezone: str = "Europe/Oslo",
        recent_s: float = 300.0,
    ) -> None:
        if len(step_price) != len(step_upper_kw) + 1:
            raise ValueError("step_price needs one more entry than step_upper_kw")
        self.bounds = list(step_upper_kw)
        self.prices = list(step_price)
        self.tz = ZoneInfo(timezone)
        self.recent_s = recent_s
        self.daily_peaks: dict[date, float] = {}  #: local day → largest finished hour [kWh]
        self._hour: datetime | None = None
        self._energy_kwh = 0.0
        self._last: datetime | None = None
        self._recent: deque[tuple[datetime, float, float]] = deque()  # (time, dt_s, p_kw)

    def seed(self, hourly_kwh: dict[datetime, float]) -> None:
        """Load finished hours (hour start UTC → energy [kWh]), e.g. from storage after a restart."""
        for start, energy in hourly_kwh.items():
            self._close_hour(start, energy)

    def _close_hour(self, hour_start: datetime, energy_kwh: float) -> None:
        day = hour_start.astimezone(self.tz).date()
        self.daily_peaks[day] = max(self.daily_peaks.get(day, 0.0), energy_kwh)

    def add(self, time: datetime, p_import_w: float) -> None:
        """A sample of import power [W] at ``time``, held since the previous sample."""
        hour = time.replace(minute=0, second=0, microsecond=0)
        if self._hour is None:
            self._hour, self._last = hour, time
        assert self._last is not None
        if hour != self._hour:
            # the part of the interval before the hour boundary belongs to the old hour
            if self._last < hour:
                self._energy_kwh += p_import_w / 1000.0 * (hour - self._last).total_seconds() / 3600.0
            self._close_hour(self._hour, self._energy_kwh)
            self._hour, self._energy_kwh = hour, 0.0
            self._last = max(self._last, hour)
        dt = max((time - self._last).total_seconds(), 0.0)
        p_kw = max(p_import_w, 0.0) / 1000.0
        self._energy_kwh += p_kw * dt / 3600.0
        self._recent.append((time, dt, p_kw))
        while self._recent and (time - self._recent[0][0]).total_seconds() > self.recent_s:
            self._recent.popleft()
        self._last = time

    def recent_kw(self) -> float:
        """Mean import power over the last ``recent_s`` [kW]."""
        total = sum(dt for _, dt, _ in self._recent)
        if total <= 0:
            return self._recent[-1][2] if self._recent else 0.0
        return sum(dt * p for _, dt, p in self._recent) / total

    def projection(self, now: datetime) -> CapacityProjection | None:
        """The running hour's outlook at ``now``; None before the first sample."""
        if self._hour is None:
            return None
        end = self._hour + timedelta(hours=1)
        remaining = max((end - now).total_seconds(), 0.0)
        projected = self._energy_kwh + self.recent_kw() * remaining / 3600.0
        today = self._hour.astimezone(self.tz).date()
        month = (today.year, today.month)
        today_peak = self.daily_peaks.get(today, 0.0)
        others = padded(  # in the month's first hours the running hour is the worst so far
            [v for d, v in self.daily_peaks.items() if (d.year, d.month) == month and d != today],
            max(today_peak, projected),
        )
        mean_now = top3_mean([*others, today_peak])
        mean_proj = top3_mean([*others, max(today_peak, projected)])
        s_now, s_proj = step_index(mean_now, self.bounds), step_index(mean_proj, self.bounds)
        return CapacityProjection(
            hour_start=self._hour,
            energy_so_far_kwh=self._energy_kwh,
            projected_kwh=projected,
            month_mean_kw=mean_now,
            projected_mean_kw=mean_proj,
            step_now=s_now,
            step_projected=s_proj,
            extra_cost=self.prices[s_proj] - self.prices[s_now],
            limit_kwh=self._limit_kwh(others, today_peak, s_now),
            remaining_s=remaining,
        )

    def _limit_kwh(self, others: list[float], today_peak: float, step: int) -> float:
        """Largest energy of this hour keeping the mean of the top three within ``bounds[step]``."""
        if step >= len(self.bounds):
            return float("inf")
        # mean(top3) is non-decreasing in this hour's energy E; while E is among the top three the
        # mean is (E + o1 + o2) / 3 with o1, o2 the two largest other days, so E = 3·bound − o1 − o2
        best_others = [*sorted(others, reverse=True)[:2], 0.0, 0.0][:2]
        return max(3.0 * self.bounds[step] - sum(best_others), today_peak)
