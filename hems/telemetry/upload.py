"""The daily telemetry job: queue every complete day, send what is due, withdraw on request.

`daily_upload` is what the daemon calls (once a day at ``upload_hour``; calling it more often is
harmless: it queues each day once and sends only what is due). It never raises for server or
network trouble: the result says what happened and the outbox keeps every unacknowledged batch.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hems.clock import Clock
from hems.reports.summary import StorageReader
from hems.telemetry import transport
from hems.telemetry.batch import batch_id, build_batch, day_bounds, encode
from hems.telemetry.config import TelemetryConfig
from hems.telemetry.outbox import Outbox, OutboxItem
from hems.telemetry.privacy import SiteFacts
from wire.telemetry import DELETION_SCHEMA, parse_batch, parse_deletion

#: A day is complete (and queued) this long after its local midnight, so the last slot is stored.
SETTLE = timedelta(minutes=15)


log = logging.getLogger(__name__)


@dataclass
class UploadResult:
    """What one run of the telemetry job did."""

    queued: list[str] = field(default_factory=list)  #: local days newly put in the outbox
    sent: list[str] = field(default_factory=list)  #: ids the server acknowledged in this run
    pending: int = 0  #: batches still waiting for an acknowledgement
    stopped: str | None = None  #: why nothing was queued or sent (no consent, withdrawn, ...)
    error: str | None = None  #: the last server or network problem, if any
    next_attempt_at: datetime | None = None  #: when something is due again (None: nothing waits)
    comparison: str | None = None  #: what the comparison fetch did ([telemetry] comparison), in words

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "sent": self.sent,
            "pending": self.pending,
            "stopped": self.stopped,
            "error": self.error,
            "next_attempt_at": None if self.next_attempt_at is None else self.next_attempt_at.isoformat(),
            "comparison": self.comparison,
        }


def _outbox(storage: Any) -> Outbox:
    return Outbox(storage.connection, getattr(storage, "lock", None))


def _token_fingerprint(token: str | None) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()[:16]


def consent_blocker(config: TelemetryConfig, outbox: Outbox) -> str | None:
    """Why uploads may not run now, or None when they may."""
    withdrawn = outbox.withdrawn_at()
    if withdrawn is not None:
        return f"consent was withdrawn on {withdrawn:%Y-%m-%d}; `hems consent give` resumes telemetry"
    if not config.consent:
        return "no consent recorded (telemetry.consent = false)"
    return None


def complete_days(now: datetime, tz: ZoneInfo, first: date) -> list[date]:
    """Local days from ``first`` whose end (+ `SETTLE`) has passed at ``now``."""
    days = []
    day = first
    while day_bounds(day, tz)[1] + SETTLE <= now:
        days.append(day)
        day += timedelta(days=1)
    return days


def queue_days(
    config: TelemetryConfig,
    storage: StorageReader,
    outbox: Outbox,
    site: SiteFacts,
    now: datetime,
    simulated: bool = False,
) -> list[str]:
    """Build and queue a batch for every complete day not queued yet; returns the days queued.

    The first run goes back ``backfill_days`` before yesterday, but never before the database's
    first sample: a day from before the box (or the demo) started has no data to send."""
    tz = ZoneInfo(site.timezone)
    first_text = outbox.get_state("first_day")
    if first_text is None:
        today = now.astimezone(tz).date()
        first = today - timedelta(days=1 + config.backfill_days)
        began = storage.first_time() if hasattr(storage, "first_time") else None
        if began is None:
            return []  # nothing recorded yet: the first run with data decides where uploads begin
        first = max(first, began.astimezone(tz).date())
        outbox.set_state("first_day", first.isoformat())
    else:
        first = date.fromisoformat(first_text)
    hid = outbox.household_id()
    done = outbox.queued_days()
    queued = []
    for day in complete_days(now, tz, first):
        if day.isoformat() in done:
            continue
        try:
            batch = build_batch(storage, day, household_id=hid, site=site, config=config, simulated=simulated)
            parse_batch(batch)  # the definition the server checks with: box and server never disagree
            body = encode(batch)
        except (ValueError, ArithmeticError) as exc:  # one bad day never blocks the next (WireError too)
            log.error("telemetry: the batch for %s cannot be built (%s); later days go on", day, exc)
            continue
        if outbox.enqueue(batch_id(hid, day), "batch", day.isoformat(), body, now):
            queued.append(day.isoformat())
    return queued


def _endpoint(config: TelemetryConfig) -> transport.Endpoint | None:
    if not config.endpoint or not config.token:
        return None
    return transport.Endpoint(config.endpoint, config.token, config.ca_file, config.timeout_s)


def send_due(
    config: TelemetryConfig, outbox: Outbox, now: datetime, result: UploadResult, batches: bool = True
) -> None:
    """Send deletion requests, then at most ``max_batches_per_attempt`` due batches, oldest first.

    A network or server failure stops the attempt (the server is not hammered) and backs the item
    off; a rejected token stops it and is remembered until the token in the config changes.
    """
    endpoint = _endpoint(config)
    if endpoint is None:
        result.error = "telemetry.endpoint and telemetry.token must both be set to upload"
        return
    fingerprint = _token_fingerprint(config.token)
    rejected = outbox.get_state("auth_error")
    if rejected is not None and rejected.startswith(fingerprint + " "):
        result.error = rejected.split(" ", 1)[1]
        return
    items = outbox.due(now, limit=1000, kind="deletion")
    if batches and consent_blocker(config, outbox) is None:
        items += outbox.due(now, limit=config.max_batches_per_attempt, kind="batch")
    with transport.Session(endpoint) as session:  # one connection for the round's requests
        _send_items(config, outbox, now, result, endpoint, session, items)


def _send_items(
    config: TelemetryConfig,
    outbox: Outbox,
    now: datetime,
    result: UploadResult,
    endpoint: transport.Endpoint,
    session: transport.Session,
    items: list[OutboxItem],
) -> None:
    fingerprint = _token_fingerprint(config.token)
    base = timedelta(minutes=config.retry_base_minutes)
    ceiling = timedelta(hours=config.retry_max_hours)
    for item in items:
        # consent and the row are checked again before every request: `hems consent withdraw` in
        # another process must stop an upload that is under way, not after it
        if item.kind == "batch" and (consent_blocker(config, outbox) or not outbox.still_queued(item.id)):
            result.stopped = consent_blocker(config, outbox) or f"{item.id} left the outbox during the upload"
            break
        try:
            if item.kind == "deletion":
                transport.send_deletion(endpoint, item.id.removeprefix("deletion:"), item.body, session)
            else:
                transport.send_batch(endpoint, item.id, item.body, session)
        except transport.TokenRejected as exc:
            outbox.set_state("auth_error", f"{fingerprint} {exc}")
            result.error = str(exc)
            return
        except transport.ServerRefused as exc:
            outbox.mark_failed(item.id, now, str(exc), base, ceiling)
            result.error = f"{item.id}: {exc}"
            continue
        except transport.TransportError as exc:
            outbox.mark_failed(item.id, now, str(exc), base, ceiling)
            result.error = str(exc)
            return
        outbox.mark_acked(item.id, now)
        result.sent.append(item.id)
    outbox.delete_state("auth_error")


def _finish(outbox: Outbox, result: UploadResult, now: datetime) -> UploadResult:
    status = outbox.status()
    result.pending = status.pending + status.deletions_pending
    if result.pending:
        upcoming = outbox.next_attempt_at()
        if upcoming is not None:
            # more is due right away when a bounded attempt left some: come back in an hour
            result.next_attempt_at = max(upcoming, now + timedelta(hours=1))
    return result


def simulated_blocker(storage: Any, simulated: bool) -> str | None:
    """Why a simulated database's data may not go out: unless the caller asked for it (``hems demo
    --upload``, ``hems telemetry send --simulated``) and the batches say they are simulated."""
    what = getattr(storage, "simulated", None)
    if what and not simulated:
        return f"this database holds simulated data ({what}), not a household's: nothing is uploaded"
    return None


def daily_upload(
    config: TelemetryConfig, storage: StorageReader, clock: Clock, site: SiteFacts, simulated: bool = False
) -> UploadResult:
    """Queue every complete day's batch and send what is due (the daemon's daily call).

    ``config`` is ``cfg.telemetry`` and ``site`` is ``deidentify_site(cfg.site)``: nothing else of
    the household's configuration reaches telemetry. A simulated database (`Storage.simulated`)
    uploads only with ``simulated`` (and its batches carry ``"simulated": true``).
    """
    now = clock.now()
    outbox = _outbox(storage)
    result = UploadResult()
    fake = simulated_blocker(storage, simulated)
    blocker = fake or consent_blocker(config, outbox)
    if blocker is None:
        marked = bool(getattr(storage, "simulated", None))  # the batches say what the data is
        result.queued = queue_days(config, storage, outbox, site, now, marked)
    else:
        result.stopped = blocker
    if blocker is None or outbox.status().deletions_pending:
        send_due(config, outbox, now, result, batches=fake is None)
    if blocker is None and config.comparison and result.error is None:
        result.comparison = _compare(config, storage, site, now)
    return _finish(outbox, result, now)


def _compare(config: TelemetryConfig, storage: Any, site: SiteFacts, now: datetime) -> str:
    """Fetch the household's comparison (only ever called with consent and the opt-in)."""
    from hems.telemetry.comparison import fetch_comparison

    endpoint = _endpoint(config)
    if endpoint is None:
        return "comparison not fetched: telemetry.endpoint and telemetry.token are not both set"
    try:
        return fetch_comparison(endpoint, storage, site, now)
    except transport.TransportError as exc:
        log.warning("telemetry: the comparison was not fetched (%s)", exc)
        return f"comparison not fetched: {exc}"


def preview(
    config: TelemetryConfig, storage: StorageReader, site: SiteFacts, day: date | None, now: datetime
) -> dict[str, Any]:
    """Exactly the batch that would be uploaded for ``day`` (default: the last complete day)."""
    tz = ZoneInfo(site.timezone)
    if day is None:
        day = (now - SETTLE).astimezone(tz).date() - timedelta(days=1)
    hid = _outbox(storage).household_id()
    simulated = bool(getattr(storage, "simulated", None))
    return build_batch(storage, day, household_id=hid, site=site, config=config, simulated=simulated)


@dataclass(frozen=True)
class Withdrawal:
    household_id: str | None  #: the pseudonymous id whose deletion was requested
    batches_deleted: int  #: unacknowledged batches removed from the outbox
    deletion_sent: bool  #: the server confirmed the deletion request
    error: str | None  #: why the request is still waiting (it is retried by the daily job)


def withdraw(config: TelemetryConfig, storage: Any, clock: Clock) -> Withdrawal:
    """Stop uploads for good, delete the outbox and ask the server to delete the household's data.

    The withdrawal is recorded in the database before anything else, so uploads stay stopped even
    if the config still says ``consent = true``; the deletion request is queued and sent now, or
    retried by `daily_upload` until the server confirms it.
    """
    now = clock.now()
    outbox = _outbox(storage)
    pending = outbox.status().pending
    hid = outbox.record_withdrawal(now)
    if hid is None:
        return Withdrawal(None, pending, False, None)
    document = {"household_id": hid, "requested_at": now.isoformat(), "schema": DELETION_SCHEMA}
    parse_deletion(document, now)  # the definition the server checks with
    body = encode(document)
    outbox.enqueue(f"deletion:{hid}", "deletion", None, body, now)
    result = UploadResult()
    send_due(config, outbox, now, result)
    sent = f"deletion:{hid}" in result.sent
    return Withdrawal(hid, pending, sent, None if sent else result.error)


def give_consent(storage: Any) -> None:
    """Clear a recorded withdrawal; the next upload uses a new, unlinkable household id."""
    _outbox(storage).clear_withdrawal()
