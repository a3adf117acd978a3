"""What the API's handlers share: configuration, the clock, the read-only database, tokens, caches.

Nothing here imports FastAPI. The database is opened read-only, lazily, by the API's own thread
(never the daemon's writing connection) and re-opened after a failure; the tariff (for costs) is
built once. Expensive answers (a month's report) are kept for a minute of wall time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from hems.api.config import ApiConfig, api_dir
from hems.api.guard import BadTokenGuard
from hems.api.tokens import TokenStore

if TYPE_CHECKING:
    from hems.config import HemsConfig
    from hems.storage import Storage

log = logging.getLogger(__name__)
CURRENCIES = {"NO": "NOK", "SE": "SEK", "DK": "DKK", "CH": "CHF", "GB": "GBP", "PL": "PLN"}


def utc_now() -> datetime:
    """Real time, for token expiry (the daemon's clock may be a simulated one)."""
    return datetime.now(UTC)


class Unavailable(RuntimeError):
    """The database cannot be read now (the message says why)."""


@dataclass
class ApiContext:
    config: HemsConfig
    api: ApiConfig
    state_path: Path
    db_path: Path
    now: Callable[[], datetime]
    config_path: str | None = None
    wall: Callable[[], datetime] = utc_now
    directory: Path = field(init=False)
    tokens: TokenStore = field(init=False)
    guard: BadTokenGuard = field(init=False)
    fingerprint: str | None = None
    started: float = field(default_factory=time.monotonic)
    _storage: Storage | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _tariff: Any = field(default=None, init=False, repr=False)
    _tariff_built: bool = field(default=False, init=False, repr=False)
    _cache: dict[Any, tuple[float, Any]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.directory = api_dir(self.api, self.db_path)
        self.tokens = TokenStore(self.directory / "tokens.db")
        self.guard = BadTokenGuard(self.api.bad_tokens_per_minute, self.api.lockout_seconds)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.site.timezone)

    @property
    def currency(self) -> str:
        return CURRENCIES.get(self.config.site.country, "EUR")

    @property
    def stale_s(self) -> float:
        return 3 * self.config.site.cycle_seconds

    def storage(self) -> Storage:
        """The database, read-only (opened on first use, re-opened after a failure)."""
        with self._lock:
            if self._storage is None:
                from hems.storage import Storage

                try:
                    self._storage = Storage.open(self.db_path, readonly=True)
                except Exception as exc:  # no database yet, not a hems database
                    raise Unavailable(f"the database cannot be read: {exc}") from None
            return self._storage

    def read(self, fn: Callable[[Storage], Any]) -> Any:
        """``fn(storage)``; a database error closes the connection (re-opened next time)."""
        st = self.storage()
        try:
            return fn(st)
        except Exception as exc:
            import sqlite3

            if isinstance(exc, sqlite3.Error):
                with self._lock:
                    if self._storage is st:
                        self._storage = None
                st.close()
                raise Unavailable(f"the database cannot be read: {exc}") from None
            raise

    def tariff(self) -> Any:
        """The household's tariff for costs, or None when it cannot be built (said in the answer)."""
        if not self._tariff_built:
            from tariffs.household import household_tariff

            try:
                self._tariff = household_tariff(
                    self.config.tariff,
                    country=self.config.site.country,
                    tz=self.config.site.timezone,
                    site_main_fuse_a=self.config.site.main_fuse_a,
                )
            except (ValueError, LookupError) as exc:
                log.warning("API: no tariff for costs: %s", exc)
                self._tariff = None
            self._tariff_built = True
        return self._tariff

    def cached(self, key: Any, ttl_s: float, make: Callable[[], Any]) -> Any:
        """``make()``, kept for ``ttl_s`` seconds of wall time under ``key`` (at most 32 entries)."""
        hit = self._cache.get(key)
        wall = time.monotonic()
        if hit is not None and wall - hit[0] < ttl_s:
            return hit[1]
        value = make()
        if len(self._cache) >= 32:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = (wall, value)
        return value

    def close(self) -> None:
        with self._lock:
            if self._storage is not None:
                self._storage.close()
                self._storage = None
