"""What a flood of messages may cost the box: bounded answers, log lines and event rows.

Appliance ids in topics are chosen by whoever publishes, so a limit per id alone is bypassed by
inventing ids: rejections are limited per known appliance, for unknown ids as one source, and in
total. Home Assistant's ``online`` announcements get the discovery document at most once a minute.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hems.control.book import RateLimit

UNKNOWN = "(unknown appliance ids)"  #: the one source every unconfigured id counts against


class FloodGuard:
    def __init__(self, known: set[str], per_source_per_minute: int = 10, total_per_minute: int = 30) -> None:
        self.known = known
        self._per_source = RateLimit(per_minute=per_source_per_minute, max_keys=len(known) + 1)
        self._total = RateLimit(per_minute=total_per_minute)
        self._discovery_at: datetime | None = None
        self.silenced = 0  #: rejections neither answered, logged nor stored

    def source(self, aid: str) -> str:
        return aid if aid in self.known else UNKNOWN

    def may_answer(self, aid: str, now: datetime) -> bool:
        """Whether a rejection of ``aid``'s message may be logged, stored and answered."""
        ok = self._per_source.allow(self.source(aid), now) and self._total.allow("all", now)
        if not ok:
            self.silenced += 1
        return ok

    def may_publish_discovery(self, now: datetime) -> bool:
        if self._discovery_at is not None and now - self._discovery_at < timedelta(minutes=1):
            return False
        self._discovery_at = now
        return True
