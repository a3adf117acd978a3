"""Planner inputs from the household's tariff and database: prices, base load, capacity steps.

- prices: the all-in import/export price per slot from tariffs/ (`HouseholdTariff.slot_prices`), on
  the spot prices cached in the database (``price_cache``, filled by the price job); without any
  spot prices the tariff's other parts still apply (``spot`` part 0) and a note is logged;
- base load: yesterday's measured import at the same time of day (``grid.p_import_w`` 15-min
  means), 0 where nothing was measured — a persistence forecast, replaced by the optimiser's
  load forecast when the daemon passes one;
- capacity steps: the tariff's step table (three-daily-peaks rule) for `AlertEngine` and the
  scenario, with the month's peaks from the alert engine's own tracker.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hems.alerts.capacity import CapacityTracker
from hems.control.scenario import LoadFn, PriceFn

if TYPE_CHECKING:
    from hems.config import HemsConfig

log = logging.getLogger(__name__)


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

    def prices(slots: list[datetime], minutes: int) -> tuple[list[float], list[float]]:
        spot = None
        if cache is not None and storage is not None and slots:
            with storage.lock:  # the connection is shared with the writer and job threads
                spot = cache.get(config.tariff.bidding_zone, slots[0], slots[-1] + timedelta(minutes=minutes))
        if spot is None:
            log.info("planning without spot prices for %s (none cached)", slots[0] if slots else "-")
        p = household.slot_prices(slots, minutes, spot)
        return list(p.import_per_kwh), list(p.export_per_kwh)

    return prices


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


def history_base_load(storage: Any) -> LoadFn:
    """Yesterday's import at the same time of day, per slot [kW] (0 where unknown)."""

    def load(slots: list[datetime], minutes: int) -> list[float]:
        if not slots:
            return []
        day = timedelta(days=1)
        start, end = slots[0] - day, slots[-1] + timedelta(minutes=minutes) - day
        try:
            points = storage.series("grid.p_import_w", start, end, "15m")
        except Exception as exc:  # a missing channel or a storage error must not stop planning
            log.warning("no base-load history: %s", exc)
            return [0.0] * len(slots)
        by_time = {p.time: p.mean / 1000.0 for p in points}
        return [round(max(by_time.get(t - day, 0.0), 0.0), 3) for t in slots]

    return load


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
