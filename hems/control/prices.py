"""The day-ahead price job: fetch tomorrow's spot prices after their publication, into the cache.

Runs at 13:00 Brussels time (results are out ~12:55 CET) and returns False while tomorrow's prices
are missing, so `hems.jobs` retries it every 10 minutes. Prices come from ENTSO-E when
``[tariff].entsoe_token`` is set (tariffs/spot.py), converted at the rate ``[tariff].exchange_rate``
names (Norges Bank's for the delivery day, or the fixed ``currency_per_eur``), and land in the
database's price cache, which the planner reads (hems/control/inputs.py). Only the HTTP request
runs in a worker thread; the cache is read and written on the daemon's loop under the storage lock.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from hems.config import HemsConfig
    from hems.jobs import JobFunc

log = logging.getLogger(__name__)


def prices_job(config: HemsConfig, storage: Any) -> JobFunc:
    """A `hems.jobs.JobFunc` for ``standard_jobs(fetch_prices=...)``."""
    from hems.storage.price_cache import SqlitePriceCache
    from tariffs.exchange import ConfiguredRate
    from tariffs.household import household_tariff
    from tariffs.series import local_day_bounds
    from tariffs.spot import PriceError, configured_fetcher

    site, tcfg = config.site, config.tariff
    cache = SqlitePriceCache(storage.connection)
    currency = household_tariff(tcfg, country=site.country, tz=site.timezone).currency

    async def run(fire: datetime) -> bool:
        day = (fire.astimezone(ZoneInfo(site.timezone)) + timedelta(days=1)).date()
        start, end = local_day_bounds(day, site.timezone)
        with storage.lock:
            if cache.get(tcfg.bidding_zone, start, end) is not None:
                return True
        rate = ConfiguredRate(tcfg, day, currency)  # [tariff].exchange_rate, for the delivery day
        fetch = configured_fetcher(tcfg, currency, rate.value)
        if fetch is None:
            log.info("no [tariff].entsoe_token: %s is planned on cached or last known prices", day)
            return True
        try:
            got = await asyncio.to_thread(fetch, start, end)
        except PriceError as exc:
            log.info("day-ahead prices for %s not available yet: %s", day, exc)
            return False
        if not got.covers(start, end):
            log.info("day-ahead prices for %s incomplete (%s..%s)", day, got.start, got.end)
            return False
        with storage.lock:
            cache.put(tcfg.bidding_zone, got)
        used = rate.used
        how = f", {used['currency_per_eur']:g} {currency}/EUR ({used['source']})" if used else ""
        log.info("day-ahead prices for %s stored (%s%s)", day, tcfg.bidding_zone, how)
        return True

    return run
