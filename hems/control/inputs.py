"""Planner inputs from the household's tariff and database: prices, base load, capacity steps.

- prices: the all-in import/export price per slot from tariffs/ (`HouseholdTariff.slot_prices`), on
  the spot prices cached in the database (``price_cache``, filled by the price job). Slots beyond
  the last published price (tomorrow, before 13:00) take the spot price of the same time on the
  last published day — the plan is redone when the new prices come; without any spot prices the
  tariff's other parts still apply (``spot`` part 0) and a note is logged;
- base load: the consumption at the same time of day that was not a controllable appliance's:
  import − export + PV − battery − appliances (15-min means), the mean of the last 14 days,
  moved towards the last hour's measured level for the next two hours or so;
- PV: the forecast job's stored forecasts (``forecast.pv.<date>`` documents), 0 kW where none; a
  raw forecast (an outside or simulated service's) corrected per hour against the PV meter, and
  the rest of today by what the sky gave in the last two hours (`hems.control.pv_bias`);
- capacity steps: the tariff's step table (three-daily-peaks rule) for `AlertEngine` and the
  scenario, with the month's peaks from the alert engine's own tracker.
"""

from __future__ import annotations

import functools
import logging
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hems.alerts.capacity import CapacityTracker
from hems.control.scenario import SLOT_MINUTES, LoadFn, PriceFn, slot_floor
from tariffs.series import PriceSeries

if TYPE_CHECKING:
    from hems.config import HemsConfig

log = logging.getLogger(__name__)

BASE_DAYS = 14  #: days behind the base-load forecast
MEMO_SIZE = 8  #: price tables kept (today's, the plans' horizons)


def tariff_prices(config: HemsConfig, storage: Any | None) -> PriceFn:
    """Per-slot prices of ``config.tariff`` on the spot prices cached in ``storage``."""
    from tariffs.household import household_tariff

    household = household_tariff(
        config.tariff,
        country=config.site.country,
        tz=config.site.timezone,
        site_main_fuse_a=config.site.main_fuse_a,
    )
    cache = None
    if storage is not None:
        from hems.storage.price_cache import SqlitePriceCache

        cache = SqlitePriceCache(storage.connection)

    # the same day's prices are asked for every slot (the dashboard's band) and by every plan: the
    # answer depends only on the slots and the spot prices known for them, so it is kept
    @functools.lru_cache(maxsize=MEMO_SIZE)
    def table(
        slots: tuple[datetime, ...], minutes: int, spot: PriceSeries | None
    ) -> tuple[tuple[float, ...], tuple[float, ...]]:
        p = household.slot_prices(slots, minutes, spot)
        return tuple(p.import_per_kwh), tuple(p.export_per_kwh)

    def prices(slots: list[datetime], minutes: int) -> tuple[list[float], list[float]]:
        spot = None
        if cache is not None and storage is not None and slots:
            with storage.lock:  # the connection is shared with the writer and job threads
                spot = known_spot(
                    cache, config.tariff.bidding_zone, slots[0], slots[-1] + timedelta(minutes=minutes)
                )
        if spot is None:
            log.info("planning without spot prices for %s (none cached)", slots[0] if slots else "-")
        imports, exports = table(tuple(slots), minutes, spot)
        return list(imports), list(exports)

    return prices


def known_spot(cache: Any, zone: str, start: datetime, end: datetime) -> PriceSeries | None:
    """Spot prices for [start, end) on a 15-min grid: the cached ones, and beyond the last cached
    slot the price 24 h (48 h ...) earlier — what a planner can assume before publication [per kWh]."""
    whole = cache.get(zone, start, end)
    if whole is not None:
        return whole
    last = cache.latest_before(zone, end)
    if last is None or last < start - timedelta(days=2):
        return None
    first = cache.get(zone, start, last + timedelta(minutes=15)) or cache.get(
        zone, start, last + timedelta(minutes=60)
    )
    if first is None:
        return None
    step = timedelta(minutes=15)
    known = dict(
        zip(first.slot_starts(), first.on_slots(first.slot_starts(), first.slot_minutes), strict=True)
    )
    if first.slot_minutes == 60:  # an hourly series: each quarter takes its hour's price
        known = {h + step * k: v for h, v in known.items() for k in range(4)}
    values = []
    t = start
    while t < end:
        back = t
        while back not in known and back > start - timedelta(days=3):
            back -= timedelta(days=1)
        values.append(known.get(back, 0.0))
        t += step
    return PriceSeries(start, 15, tuple(values), first.currency)


def capacity_steps(config: HemsConfig, day: Any) -> tuple[list[float], list[float]] | None:
    """(step upper bounds [kW], price per month of each step) of the tariff on ``day``, or None."""
    from tariffs.household import household_tariff
    from tariffs.planning import capacity_table

    try:
        household = household_tariff(
            config.tariff,
            country=config.site.country,
            tz=config.site.timezone,
            site_main_fuse_a=config.site.main_fuse_a,
        )
        table, _why = capacity_table(household, day)
    except (ValueError, LookupError) as exc:
        log.warning("no capacity steps from the tariff: %s", exc)
        return None
    if not table:
        return None
    return list(table["step_upper_kw"]), list(table["step_price"])


def history_base_load(storage: Any, settle_slots: float = 8.0, days: int = BASE_DAYS) -> LoadFn:
    """The consumption at the same time of day that was none of the appliances', per slot [kW]:
    import − export + PV − Σ appliance power (a battery's too: charging is positive), the mean of
    the last ``days`` days that have the slot (one day's dinner, guests or cold night is noise to
    the next day; docs/control.md has the measured effect).

    Corrected towards the last hour's measured level: the difference between the last hour and the
    same hour on those days fades out over ~``settle_slots`` slots (a cold evening stays cold for a
    while); where no day is known, the last hour's level; 0 when nothing is known."""

    history = _SettledHistory(storage)

    def load(slots: list[datetime], minutes: int) -> list[float]:
        if not slots:
            return []
        day, step = timedelta(days=1), timedelta(minutes=minutes)
        recent_from = slots[0] - timedelta(hours=1)
        try:
            past = history.get(
                slots[0] - days * day - timedelta(hours=1), slots[-1] + step - day, recent_from
            )
            recent = _house_base(storage, recent_from, slots[0])
        except Exception as exc:  # a missing channel or a storage error must not stop planning
            log.warning("no base-load history: %s", exc)
            return [0.0] * len(slots)

        def typical(t: datetime) -> float | None:
            seen = [past[t - k * day] for k in range(1, days + 1) if t - k * day in past]
            return sum(seen) / len(seen) if seen else None

        now_level = sum(recent.values()) / len(recent) if recent else None
        then = [v for v in (typical(t) for t in recent) if v is not None]
        shift = now_level - sum(then) / len(then) if now_level is not None and then else 0.0
        out = []
        for k, t in enumerate(slots):
            y = typical(t)
            value = now_level or 0.0 if y is None else y + shift * math.exp(-k / settle_slots)
            out.append(round(max(value, 0.0), 3))
        return out

    return load


class _SettledHistory:
    """`_house_base` over a moving window, each slot read once it has settled: a slot that ended
    an hour before the planning instant no longer changes (the writer has flushed it), so a re-plan
    reads only the last hour or so instead of 14 days of every channel again."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage
        self.known: dict[datetime, float] = {}
        self.since: datetime | None = None  #: the cache holds every settled slot in [since, until)
        self.until: datetime | None = None

    def get(self, start: datetime, end: datetime, settled_by: datetime) -> dict[datetime, float]:
        """Slots in [start, end); slots that ended before ``settled_by`` are kept for the next call."""
        if self.since is None or self.until is None or start < self.since or self.until < start:
            self.known, self.since, self.until = {}, start, start
        fresh_from = self.until
        fresh = _house_base(self.storage, fresh_from, end) if fresh_from < end else {}
        final = slot_floor(settled_by) - timedelta(minutes=SLOT_MINUTES)  # these ended before settled_by
        self.known = {t: v for t, v in self.known.items() if t >= start}
        self.known.update((t, v) for t, v in fresh.items() if t < final)
        self.since, self.until = start, max(fresh_from, min(final, end))
        return {**{t: v for t, v in self.known.items() if t < end}, **fresh}


def _house_base(storage: Any, start: datetime, end: datetime) -> dict[datetime, float]:
    """The non-appliance consumption per 15-min slot in [start, end) [kW] (slots with a grid reading)."""
    channels = storage.channels()
    if "grid.p_import_w" not in channels:
        return {}
    signed = {"grid.p_export_w": -1.0, "pv.p_w": 1.0}
    for ch in channels:
        if ch.startswith("appliance.") and ch.endswith(".p_w"):
            signed[ch] = -1.0
    total = {p.time: p.mean / 1000.0 for p in storage.series("grid.p_import_w", start, end, "15m")}
    for ch, sign in signed.items():
        if ch in channels:
            for p in storage.series(ch, start, end, "15m"):
                if p.time in total:
                    total[p.time] += sign * p.mean / 1000.0
    return total


def stored_pv_forecast(storage: Any, tz: str) -> LoadFn:
    """PV per slot from the forecast job's documents ``forecast.pv.<local date>`` [kW] (0 where none);
    a raw document (not the forecast job's own) corrected against the PV meter (`pv_bias`)."""
    from zoneinfo import ZoneInfo

    from hems.control.pv_bias import INTRADAY_HOURS, RawCorrection, intraday_factors, is_raw

    zone = ZoneInfo(tz)
    correction = RawCorrection(storage, tz)

    def pv(slots: list[datetime], minutes: int) -> list[float]:
        if not slots:
            return []
        by_time: dict[datetime, float] = {}
        since = slots[0] - timedelta(hours=INTRADAY_HOURS)  # the stretch today's correction learns from
        for day in sorted({t.astimezone(zone).date() for t in (since, *slots)}):
            try:
                doc = storage.get_doc(f"forecast.pv.{day.isoformat()}")
            except Exception as exc:  # no forecast is no reason to stop planning
                log.warning("no PV forecast for %s: %s", day, exc)
                doc = None
            raw = isinstance(doc, dict) and is_raw(doc)
            today = min(t.astimezone(zone).date() for t in slots)
            for slot in (doc or {}).get("slots", []):
                try:
                    t = datetime.fromisoformat(str(slot["start"]).replace("Z", "+00:00"))
                    factor = correction.factor(today, t) if raw else 1.0
                    by_time[t] = max(float(slot["pv_w"]), 0.0) * factor / 1000.0
                except (KeyError, TypeError, ValueError):
                    continue
        try:
            sky = intraday_factors(storage, by_time, slots, tz)
        except Exception as exc:  # a correction that cannot be learnt is no reason to stop planning
            log.warning("no intraday PV correction: %s", exc)
            sky = [1.0] * len(slots)
        return [round(by_time.get(t, 0.0) * f, 3) for t, f in zip(slots, sky, strict=True)]

    return pv


def seed_capacity(tracker: CapacityTracker | None, storage: Any | None, now: datetime) -> None:
    """After a restart: the month's finished hours of import energy from storage into ``tracker``."""
    if tracker is None or storage is None:
        return
    month_start = now.astimezone(tracker.tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    try:
        points = storage.series("grid.p_import_w", month_start, this_hour, "1h")
    except Exception:  # no history is no reason to stop the daemon
        log.exception("capacity tracker: no hourly history")
        return
    tracker.seed({p.time: p.mean / 1000.0 for p in points})  # 1 h at a mean of W → kWh
