"""Fixed-resolution time series of prices and energies, and the slots of a local day.

Alignment (one rule, everywhere in tariffs/): slot ``i`` of a series covers the half-open interval
``[start + i*slot, start + (i+1)*slot)``; ``start`` is timezone-aware UTC and lies on a multiple of
the slot length counted from the hour (``:00``, ``:15``, ``:30``, ``:45`` for 15-min slots, ``:00``
for hourly ones). A value is the mean over its slot: a price holds for every kWh in the slot, an
energy is what flowed during it. A local calendar day has 92, 96 or 100 quarter-hours (23, 24 or 25
hours) on DST days; `day_slots` gives them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SLOT_MINUTES = (15, 60)


def _check_grid(start: datetime, slot_minutes: int, what: str) -> None:
    if start.tzinfo is None:
        raise ValueError(f"{what}: start must be timezone-aware, got {start.isoformat()}")
    if slot_minutes not in SLOT_MINUTES:
        raise ValueError(f"{what}: slot_minutes must be 15 or 60, got {slot_minutes}")
    utc = start.astimezone(UTC)
    if utc.second or utc.microsecond or utc.minute % slot_minutes:
        raise ValueError(f"{what}: start {start.isoformat()} is not on a {slot_minutes}-min boundary")


def local_day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """UTC start and end of the local calendar day ``day`` in ``tz`` (23, 24 or 25 hours long)."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def day_slots(day: date, tz: str, slot_minutes: int = 15) -> list[datetime]:
    """UTC starts of every slot of local day ``day``: 92/96/100 quarter-hours, 23/24/25 hours."""
    start, end = local_day_bounds(day, tz)
    _check_grid(start, slot_minutes, "day_slots")
    n = int((end - start).total_seconds() // (slot_minutes * 60))
    return [start + timedelta(minutes=slot_minutes * i) for i in range(n)]


@dataclass(frozen=True, slots=True)
class PriceSeries:
    """Prices per slot [currency/kWh] (NOK/kWh unless ``currency`` says otherwise)."""

    start: datetime  #: UTC start of slot 0
    slot_minutes: int  #: 15 or 60
    price_per_kwh: tuple[float, ...]
    currency: str = "NOK"

    def __post_init__(self) -> None:
        _check_grid(self.start, self.slot_minutes, "PriceSeries")
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "price_per_kwh", tuple(float(v) for v in self.price_per_kwh))

    def __len__(self) -> int:
        return len(self.price_per_kwh)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.slot_minutes * len(self))

    def slot_starts(self) -> list[datetime]:
        return [self.start + timedelta(minutes=self.slot_minutes * i) for i in range(len(self))]

    def covers(self, start: datetime, end: datetime) -> bool:
        return self.start <= start and end <= self.end

    def at(self, instant: datetime) -> float:
        """Price of the slot containing ``instant`` [currency/kWh]; KeyError outside the series."""
        offset = (instant.astimezone(UTC) - self.start).total_seconds()
        i = int(offset // (self.slot_minutes * 60))
        if offset < 0 or i >= len(self):
            raise KeyError(f"{instant.isoformat()} is outside the price series")
        return self.price_per_kwh[i]

    def on_slots(self, starts: Sequence[datetime], slot_minutes: int) -> list[float]:
        """Values on another slot grid: a finer slot takes its containing slot's price, a coarser
        slot the mean of the slots it contains (hourly price = mean of its four quarter-hours)."""
        if slot_minutes >= self.slot_minutes:
            k = slot_minutes // self.slot_minutes
            step = timedelta(minutes=self.slot_minutes)
            return [sum(self.at(s + step * j) for j in range(k)) / k for s in starts]
        return [self.at(s) for s in starts]

    def window(self, start: datetime, end: datetime) -> PriceSeries:
        """The part of the series in [start, end) (both on the slot grid and inside the series)."""
        if not self.covers(start, end):
            raise KeyError(
                f"prices cover {self.start.isoformat()}..{self.end.isoformat()}, "
                f"not {start.isoformat()}..{end.isoformat()}"
            )
        step = self.slot_minutes * 60
        i = int((start - self.start).total_seconds() // step)
        j = int((end - self.start).total_seconds() // step)
        return PriceSeries(start, self.slot_minutes, self.price_per_kwh[i:j], self.currency)


@dataclass(frozen=True, slots=True)
class EnergySeries:
    """Metered energy per slot [kWh]: import from the grid and (optionally) export to it."""

    start: datetime  #: UTC start of slot 0
    slot_minutes: int  #: 15 or 60
    e_import_kwh: tuple[float, ...]
    e_export_kwh: tuple[float, ...] = ()  #: empty = no export

    def __post_init__(self) -> None:
        _check_grid(self.start, self.slot_minutes, "EnergySeries")
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        imp = tuple(float(v) for v in self.e_import_kwh)
        exp = tuple(float(v) for v in self.e_export_kwh) or (0.0,) * len(imp)
        if len(exp) != len(imp):
            raise ValueError(f"EnergySeries: {len(imp)} import values but {len(exp)} export values")
        if any(v < 0 for v in imp + exp):
            raise ValueError("EnergySeries: energies are non-negative (import and export apart)")
        object.__setattr__(self, "e_import_kwh", imp)
        object.__setattr__(self, "e_export_kwh", exp)

    @classmethod
    def from_power_w(
        cls,
        start: datetime,
        slot_minutes: int,
        p_import_w: Sequence[float],
        p_export_w: Sequence[float] = (),
    ) -> EnergySeries:
        """From mean powers per slot [W] (e.g. 15-min rollups of ``grid.p_import_w``)."""
        h = slot_minutes / 60.0
        return cls(
            start,
            slot_minutes,
            tuple(p * h / 1000.0 for p in p_import_w),
            tuple(p * h / 1000.0 for p in p_export_w),
        )

    def __len__(self) -> int:
        return len(self.e_import_kwh)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.slot_minutes * len(self))

    def slot_starts(self) -> list[datetime]:
        return [self.start + timedelta(minutes=self.slot_minutes * i) for i in range(len(self))]
