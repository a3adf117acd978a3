"""Rate limiting of bad tokens, per client: resilience against guessing ("home-jacking").

A client (its IP address) that presents more than ``per_minute`` bad tokens within a minute is
locked out for ``lockout_s``: every request it makes then gets 429 with a Retry-After, even with a
good token, so a guesser learns nothing while locked out. Good requests do not reset the count.
The table is bounded: the oldest clients are forgotten first when it is full.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class BadTokenGuard:
    def __init__(
        self,
        per_minute: int,
        lockout_s: float,
        wall: Callable[[], float] = time.monotonic,
        max_clients: int = 4096,
    ) -> None:
        self.per_minute = per_minute
        self.lockout_s = lockout_s
        self._wall = wall
        self._max = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._locked: dict[str, float] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds this client must still wait (0 when it is not locked out)."""
        with self._lock:
            until = self._locked.get(client)
            if until is None:
                return 0.0
            left = until - self._wall()
            if left <= 0:
                del self._locked[client]
                self._failures.pop(client, None)
                return 0.0
            return left

    def failed(self, client: str) -> bool:
        """Record a bad token; True when this failure locks the client out."""
        now = self._wall()
        with self._lock:
            seen = self._failures.pop(client, None) or deque()
            seen.append(now)
            while seen and seen[0] <= now - 60.0:
                seen.popleft()
            self._failures[client] = seen  # most recent last
            while len(self._failures) > self._max:
                self._failures.popitem(last=False)
            if len(seen) > self.per_minute:
                self._locked[client] = now + self.lockout_s
                return True
            return False
