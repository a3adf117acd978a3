"""The schedule book: each appliance's request, schedule version and acknowledgement.

Validation of what appliances send (unknown appliance, wrong kind, replayed ``seq``, stale ack
``version``, malformed payload) happens here and gives an `Outcome` with a reason; a refused message
changes nothing. Versions and requests persist in the box's SQLite database (table
``control_appliance``), so a restart neither re-uses a version nor forgets a pending request.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from devices.natures import ApplianceState
from hems.control.config import ApplianceConfig
from hems.mqtt.payloads import (
    ApplianceRequest,
    PayloadError,
    Schedule,
    parse_ack,
    parse_request,
    parse_status,
)

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS control_appliance (
    appliance TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,      -- highest request seq seen (replays are refused)
    request TEXT,                   -- JSON of the pending request, NULL when none
    version INTEGER NOT NULL,       -- last schedule version issued
    schedule TEXT,                  -- JSON of the current schedule, NULL when cancelled
    acked INTEGER NOT NULL          -- last version the appliance accepted
)
"""

_KINDS = {
    "shiftable": ("shiftable",),
    "energy": ("energy",),
    "relay": ("shiftable", "energy"),
    "thermal": ("energy",),
    "battery": (),
}


@dataclass
class Entry:
    """Everything the box knows about one appliance's scheduling."""

    appliance: str
    last_seq: int = -1
    request: ApplianceRequest | None = None
    version: int = 0
    schedule: Schedule | None = None
    acked: int = 0
    refused: bool = False  #: the appliance answered accepted=false to the current version
    sent_at: datetime | None = None
    online: bool = True
    state: ApplianceState | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a message did: accepted (and whether the plan must change) or refused with a reason."""

    accepted: bool
    reason: str = ""
    replan: bool = False
    seq: int | None = None
    version: int | None = None
    cancel: list[str] = field(default_factory=list)  #: appliances whose schedule must be withdrawn


class ScheduleBook:
    """Per-appliance scheduling state for the configured appliances, persisted on ``connection``."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        appliances: list[ApplianceConfig],
        lock: threading.RLock | None = None,
    ) -> None:
        """``lock``: the storage's lock when ``connection`` is shared with other threads."""
        self.db = connection
        self.lock = lock or threading.RLock()
        self.config = {a.id: a for a in appliances}
        self.entries: dict[str, Entry] = {a.id: Entry(a.id) for a in appliances}
        with self.lock:
            self.db.execute(_SCHEMA)
            _commit(self.db)
        self._load()

    def _load(self) -> None:
        with self.lock:
            rows = self.db.execute(
                "SELECT appliance, last_seq, request, version, schedule, acked FROM control_appliance"
            ).fetchall()
        for aid, last_seq, request, version, schedule, acked in rows:
            if aid not in self.entries:
                continue
            e = self.entries[aid]
            e.last_seq, e.version, e.acked = last_seq, version, acked
            e.request = ApplianceRequest.model_validate_json(request) if request else None
            e.schedule = Schedule.model_validate_json(schedule) if schedule else None

    def _save(self, e: Entry) -> None:
        with self.lock:
            self.db.execute(
                "INSERT OR REPLACE INTO control_appliance VALUES (?, ?, ?, ?, ?, ?)",
                (
                    e.appliance,
                    e.last_seq,
                    e.request.model_dump_json() if e.request else None,
                    e.version,
                    e.schedule.model_dump_json() if e.schedule else None,
                    e.acked,
                ),
            )
            _commit(self.db)

    # --- messages from appliances -----------------------------------------------------------------
    def on_request(self, aid: str, raw: bytes, now: datetime) -> Outcome:
        e = self.entries.get(aid)
        if e is None:
            return Outcome(False, f"unknown appliance {aid!r} (not in the box's configuration)")
        try:
            req = parse_request(raw)
        except PayloadError as exc:
            return Outcome(False, str(exc))
        if req.seq <= e.last_seq:
            reason = (
                f"replayed request: seq {req.seq} is not above {e.last_seq} "
                "(an appliance that restarts its count says offline, then online)"
            )
            return Outcome(False, reason, seq=req.seq)
        kind = self.config[aid].kind
        if req.kind != "cancel" and req.kind not in _KINDS[kind]:
            return Outcome(False, f"appliance {aid} is configured as {kind}, not {req.kind}", seq=req.seq)
        if req.latest_end is not None and req.latest_end <= now:
            return Outcome(False, "latest_end is already past", seq=req.seq)
        e.last_seq = req.seq
        cancel = []
        if req.kind == "cancel":
            had = e.request is not None or e.schedule is not None
            e.request, e.schedule = None, None
            cancel = [aid] if had else []
        else:
            e.request = req
        e.online = True
        self._save(e)
        return Outcome(True, replan=True, seq=req.seq, cancel=cancel)

    def on_ack(self, aid: str, raw: bytes, now: datetime) -> Outcome:
        e = self.entries.get(aid)
        if e is None:
            return Outcome(False, f"unknown appliance {aid!r} (not in the box's configuration)")
        try:
            ack = parse_ack(raw)
        except PayloadError as exc:
            return Outcome(False, str(exc))
        if e.schedule is None:
            return Outcome(False, "no schedule to acknowledge", version=ack.version)
        if ack.version != e.schedule.version:
            reason = f"stale ack: version {ack.version}, the current schedule is version {e.schedule.version}"
            return Outcome(False, reason, version=ack.version)
        if ack.accepted:
            e.acked, e.refused = ack.version, False
        else:
            e.refused = True
        self._save(e)
        return Outcome(True, ack.reason or "", version=ack.version)

    def on_status(self, aid: str, raw: bytes, now: datetime) -> Outcome:
        """``state``: an appliance going offline is dropped from the plan (its schedule withdrawn)."""
        e = self.entries.get(aid)
        if e is None:
            return Outcome(False, f"unknown appliance {aid!r} (not in the box's configuration)")
        try:
            status = parse_status(raw)
        except PayloadError as exc:
            return Outcome(False, str(exc))
        was_online = e.online
        e.online, e.state = status.online, status.to_state(now)
        if not was_online and status.online and e.last_seq >= 0:
            # back after going offline (a restart: its last will said so): the appliance may count
            # its requests from the start again, so a wrong seq it once sent never locks it out
            e.last_seq = -1
            self._save(e)
        if was_online and not status.online and (e.request is not None or e.schedule is not None):
            e.request, e.schedule = None, None
            self._save(e)
            return Outcome(True, "went offline", replan=True, cancel=[aid])
        return Outcome(True)

    # --- the plan side ----------------------------------------------------------------------------
    def pending(self, now: datetime) -> dict[str, ApplianceRequest]:
        """Requests to plan: online appliances whose window is not over."""
        out = {}
        for aid, e in self.entries.items():
            req = e.request
            if req is None or req.latest_end is None:
                continue
            if req.latest_end <= now:
                e.request = None
                self._save(e)
                continue
            if e.online:
                out[aid] = req
        return out

    def issue(self, aid: str, schedule_fields: dict[str, object], now: datetime) -> Schedule:
        """A new version of ``aid``'s schedule (persisted, not yet sent)."""
        e = self.entries[aid]
        e.version += 1
        req = e.request
        e.schedule = Schedule.model_validate(
            {
                **schedule_fields,
                "version": e.version,
                "seq": req.seq if req else e.last_seq,
                "issued": now,
            }
        )
        e.refused, e.sent_at = False, None
        self._save(e)
        return e.schedule

    def withdraw(self, aid: str) -> None:
        """Forget ``aid``'s schedule (the caller publishes the empty retained payload)."""
        e = self.entries[aid]
        e.schedule, e.sent_at = None, None
        self._save(e)

    def mark_sent(self, aid: str, now: datetime) -> None:
        self.entries[aid].sent_at = now

    def due_resend(self, now: datetime, resend_s: float) -> list[Schedule]:
        """Current schedules the appliance has not acknowledged (nor refused) for ``resend_s``."""
        out = []
        for e in self.entries.values():
            s = e.schedule
            if s is None or e.acked >= s.version or e.refused or not e.online:
                continue
            if e.sent_at is None or now - e.sent_at >= timedelta(seconds=resend_s):
                out.append(s)
        return out

    def states(self) -> dict[str, ApplianceState]:
        """What each appliance last said about itself on ``state`` (for the daemon's snapshot)."""
        return {aid: e.state for aid, e in self.entries.items() if e.state is not None}

    def schedules(self) -> dict[str, Schedule]:
        return {aid: e.schedule for aid, e in self.entries.items() if e.schedule is not None}

    def summary(self) -> dict[str, object]:
        """JSON-shaped state for the dashboard and the plan document."""
        return {
            aid: {
                "version": e.version,
                "acked": e.acked,
                "refused": e.refused,
                "online": e.online,
                "request": json.loads(e.request.model_dump_json()) if e.request else None,
            }
            for aid, e in self.entries.items()
        }


class RateLimit:
    """At most ``per_minute`` events per key in a fixed one-minute window (keys are bounded)."""

    def __init__(self, per_minute: int, max_keys: int = 1000) -> None:
        self.per_minute = per_minute
        self.max_keys = max_keys
        self._windows: dict[str, tuple[datetime, int]] = {}  # key → (window start, count)

    def allow(self, key: str, now: datetime) -> bool:
        if len(self._windows) > self.max_keys:  # hostile clients inventing ids: forget old windows
            self._windows = {k: v for k, v in self._windows.items() if (now - v[0]).total_seconds() < 60}
        start, count = self._windows.get(key, (now, 0))
        if (now - start).total_seconds() >= 60:
            start, count = now, 0
        self._windows[key] = (start, count + 1)
        if count == self.per_minute:
            log.warning("too many bad messages from %s: ignoring them for a minute", key)
        return count < self.per_minute


def _commit(db: sqlite3.Connection) -> None:
    """Commit on a connection with implicit transactions; the storage's (autocommit) needs none,
    and committing there could end another thread's transaction."""
    if db.isolation_level is not None and db.in_transaction:
        db.commit()
