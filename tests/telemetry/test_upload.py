"""Telemetry against a real HTTPS research server on localhost."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hems.clock import ManualClock
from hems.config import HemsConfig, parse_config
from hems.storage import Storage
from hems.telemetry import daily_upload, deidentify_site, withdraw
from hems.telemetry.outbox import Outbox

TZ = ZoneInfo("Europe/Oslo")


def morning(day: date, hour: int = 3) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ).astimezone(UTC)


def config(server, identity: dict[str, str], **telemetry: object) -> HemsConfig:
    section = {
        "consent": True,
        "endpoint": server.url,
        "token": "tok-household-42",
        "ca_file": str(server.pki.ca_file),
        "max_batches_per_attempt": 2,
        "backfill_days": 0,
        **telemetry,
    }
    return parse_config(
        {
            "site": {"postcode": identity["postcode"], "timezone": "Europe/Oslo"},
            "contact": {"name": identity["name"], "address": identity["address"], "email": identity["email"]},
            "telemetry": section,
        }
    )


def run(cfg: HemsConfig, db: Path, now: datetime):
    with Storage.open(db) as st:
        return daily_upload(cfg.telemetry, st, ManualClock(now), deidentify_site(cfg.site))


IDENTITY = {
    "name": "Kari Nordmann",
    "address": "Storgata 17, 1081 Oslo",
    "postcode": "1081",
    "meter_id": "7359992890123456",
    "email": "kari@example.no",
}


def test_each_complete_day_arrives_once_and_is_acknowledged(server, household_db: Path) -> None:
    cfg = config(server, IDENTITY)
    first = run(cfg, household_db, morning(date(2026, 3, 2)))
    assert first.ok and first.queued == ["2026-03-01"] and len(first.sent) == 1
    again = run(cfg, household_db, morning(date(2026, 3, 2), 9))  # a second call the same day
    assert again.queued == [] and again.sent == [] and again.pending == 0
    second = run(cfg, household_db, morning(date(2026, 3, 3)))
    assert second.queued == ["2026-03-02"]
    days = sorted(json.loads(b)["day"] for b in server.received.batches.values())
    assert days == ["2026-03-01", "2026-03-02"]
    batch = json.loads(server.received.batches[second.sent[0]])
    assert batch["site"]["postcode_prefix"] == "108x"
    assert batch["interval"]["slots"] == 96 and len(batch["readings"]["grid.p_import_w"]) == 96
    assert batch["readings"]["pv.p_w"][44] == 2000.0  # 11:00 local = slot 44
    assert batch["summary"]["house"]["pv_kwh"] == 8.0
    assert "grid.e_import_kwh" not in batch["readings"]  # cumulative registers never leave the box
    assert "circuit.heater.i_a" not in batch["readings"]  # not in the default channel list


def test_an_outage_of_days_loses_nothing_and_does_not_flood(server, household_db: Path) -> None:
    cfg = config(server, IDENTITY)
    server.stop()
    for day in range(2, 6):  # four daily attempts while the server is down
        result = run(cfg, household_db, morning(date(2026, 3, day)))
        assert result.error and "cannot reach" in result.error
        assert result.pending == day - 1
    server.start()  # back on the same port
    server.drop_ack = 1  # the first batch is stored but its acknowledgement is lost
    attempts = []
    now = morning(date(2026, 3, 6))
    for _ in range(6):
        result = run(cfg, household_db, now)
        attempts.append(len(server.received.requests))
        now += timedelta(hours=1) if result.next_attempt_at is None else result.next_attempt_at - now
        if result.pending == 0:
            break
    per_attempt = [b - a for a, b in zip([0, *attempts], attempts, strict=False)]
    assert max(per_attempt) <= 2  # max_batches_per_attempt
    assert result.pending == 0
    days = sorted(json.loads(b)["day"] for b in server.received.batches.values())
    assert days == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    assert server.received.duplicates == 1  # the batch whose ack was lost, sent again, stored once
    keys = [key for path, key in server.received.requests if path.endswith("/batches")]
    assert len(keys) == 6 and len(set(keys)) == 5


def test_a_rejected_token_stops_uploads_until_the_token_changes(server, household_db: Path) -> None:
    server.token = "the-server-revoked-ours"
    cfg = config(server, IDENTITY)
    result = run(cfg, household_db, morning(date(2026, 3, 2)))
    assert not result.ok and "rejected the token (HTTP 401" in (result.error or "")
    asked = len(server.received.requests)
    later = run(cfg, household_db, morning(date(2026, 3, 3)))
    assert "rejected the token" in (later.error or "") and later.pending == 2
    assert len(server.received.requests) == asked  # not asked again with the same token
    server.token = "a-new-token"
    fixed = config(server, IDENTITY, token="a-new-token")
    resumed = run(fixed, household_db, morning(date(2026, 3, 3), 4))
    assert resumed.ok and resumed.pending == 0 and len(server.received.batches) == 2


def test_tls_is_verified(server, household_db: Path) -> None:
    cfg = config(server, IDENTITY, ca_file=str(server.pki.other_ca_file))
    result = run(cfg, household_db, morning(date(2026, 3, 2)))
    assert result.error and "CERTIFICATE_VERIFY_FAILED" in result.error
    assert server.received.batches == {} and result.pending == 1


def test_no_upload_without_consent(server, household_db: Path) -> None:
    cfg = config(server, IDENTITY, consent=False)
    result = run(cfg, household_db, morning(date(2026, 3, 3)))
    assert result.stopped and "no consent" in result.stopped
    assert server.received.requests == []
    with Storage.open(household_db) as st:
        assert Outbox(st.connection).status().pending == 0


def test_withdrawal_deletes_the_outbox_and_reaches_the_server(server, household_db: Path) -> None:
    cfg = config(server, IDENTITY)
    run(cfg, household_db, morning(date(2026, 3, 2)))
    server.stop()
    assert run(cfg, household_db, morning(date(2026, 3, 4))).pending == 2
    with Storage.open(household_db) as st:
        hid = Outbox(st.connection).household_id()
        down = withdraw(cfg.telemetry, st, ManualClock(morning(date(2026, 3, 4), 12)))
    assert down.household_id == hid and down.batches_deleted == 2 and not down.deletion_sent
    server.start()
    # consent = true is still in the config, but the recorded withdrawal wins; the daily job
    # delivers the deletion request and nothing else
    after = run(cfg, household_db, morning(date(2026, 3, 5)))
    assert after.stopped and "withdrawn" in after.stopped
    assert server.received.deletions == [hid]
    assert sorted(server.received.batches) == [f"{hid}/2026-03-01"]
    assert after.pending == 0
    with Storage.open(household_db) as st:
        assert Outbox(st.connection).status().pending == 0
        assert Outbox(st.connection).withdrawn_at() is not None


def test_no_identifying_field_in_any_batch(server, household_db: Path) -> None:
    cfg = config(server, IDENTITY)
    for day in range(2, 7):
        assert run(cfg, household_db, morning(date(2026, 3, day))).ok
    assert len(server.received.batches) == 5
    bodies = list(server.received.batches.values()) + [gzip.decompress(b) for b in server.received.raw_bodies]
    for body in bodies + server.received.raw_bodies:
        for value in IDENTITY.values():
            assert value.encode() not in body, value
            assert value.lower().encode() not in body.lower(), value
    with Storage.open(household_db) as st:
        assert st.get_doc("meter")["meter_id"] == IDENTITY["meter_id"]  # it was there to leak


def test_redirects_are_not_followed_with_the_token(server, household_db: Path) -> None:
    server.redirect_to = server.url + "/elsewhere"
    result = run(config(server, IDENTITY), household_db, morning(date(2026, 3, 2)))
    assert result.error and "HTTP 307" in result.error and result.pending == 1
    assert [path for path, _ in server.received.requests] == ["/hems/v1/batches"]


@pytest.mark.parametrize(("day", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25)])
def test_batches_of_dst_days_have_23_and_25_hours(tmp_path: Path, day: date, hours: int) -> None:
    from hems.storage import SampleWriter, WriterSettings
    from hems.telemetry.batch import build_batch, encode
    from hems.telemetry.privacy import SiteFacts

    path = tmp_path / "dst.db"
    with Storage.open(path, timezone="Europe/Oslo") as st:
        writer = SampleWriter(st, WriterSettings(batch_cycles=5000, batch_seconds=1e9))
        t = datetime(day.year, day.month, day.day, tzinfo=TZ).astimezone(UTC)
        while t < datetime(day.year, day.month, day.day + 1, tzinfo=TZ).astimezone(UTC):
            writer.add(t, {"grid.p_import_w": 1000.0 + 10 * t.astimezone(TZ).hour})
            t += timedelta(minutes=5)
        writer.close()
        site = SiteFacts("108x", "NO", "Europe/Oslo", "TN", 25.0)
        for minutes in (15, 60, 5):
            cfg = parse_config({"telemetry": {"resolution_minutes": minutes}}).telemetry
            batch = build_batch(st, day, household_id="h-test", site=site, config=cfg)
            values = batch["readings"]["grid.p_import_w"]
            assert batch["interval"]["slots"] == len(values) == hours * 60 // minutes
            assert None not in values, (minutes, values[:3])
            assert batch["summary"]["house"]["import_kwh"] == pytest.approx(
                sum(v * minutes / 60 / 1000 for v in values), rel=1e-6
            )
            again = build_batch(st, day, household_id="h-test", site=site, config=cfg)
            assert encode(batch) == encode(again)  # idempotent: same day, same bytes


def test_a_withdrawal_during_an_upload_stops_it_at_once(server, household_db: Path) -> None:
    """`hems consent withdraw` (another process, its own connection) while a backlog is being sent:
    after the server confirms the deletion it never receives another batch."""
    cfg = config(server, IDENTITY, max_batches_per_attempt=7, backfill_days=7)
    withdrawals = []

    def withdraw_once() -> None:
        if not withdrawals:
            with Storage.open(household_db) as other:
                withdrawals.append(withdraw(cfg.telemetry, other, ManualClock(morning(date(2026, 3, 6)))))

    server.on_batch = withdraw_once
    result = run(cfg, household_db, morning(date(2026, 3, 6)))
    assert withdrawals and withdrawals[0].deletion_sent
    paths = [path for path, _ in server.received.requests]
    deleted_at = paths.index("/hems/v1/deletions")
    assert "/hems/v1/batches" not in paths[deleted_at + 1 :], paths
    assert len(server.received.batches) == 1 and result.sent == [next(iter(server.received.batches))]


def test_a_day_holding_infinities_never_blocks_the_next(server, tmp_path: Path, monkeypatch) -> None:
    """A database written before the box refused non-finite values: that day's infinities are not
    measurements (null in the batch, or the day skipped), and every later day is still sent."""
    import math

    from hems.storage import SampleWriter, WriterSettings
    from hems.storage import writer as writer_module

    monkeypatch.setattr(writer_module, "plausible_values", lambda values: (values, {}))  # the old writer
    db = tmp_path / "old.db"
    with Storage.open(db, timezone="Europe/Oslo") as st:
        w = SampleWriter(st, WriterSettings(batch_cycles=5000, batch_seconds=1e9))
        t = datetime(2026, 3, 1, tzinfo=TZ).astimezone(UTC)
        while t < datetime(2026, 3, 5, tzinfo=TZ).astimezone(UTC):
            bad = t.astimezone(TZ).date() == date(2026, 3, 2) and t.astimezone(TZ).hour == 12
            power = math.inf if bad else 500.0
            w.add(t, {"grid.p_import_w": power, "grid.e_import_kwh": math.inf if bad else 10.0})
            t += timedelta(minutes=5)
        w.close()
    cfg = config(server, IDENTITY, max_batches_per_attempt=7, backfill_days=7)
    result = run(cfg, db, morning(date(2026, 3, 5)))
    days = sorted(bid.split("/")[1] for bid in server.received.batches)
    assert "2026-03-03" in days and "2026-03-04" in days, (days, result)
    for body in server.received.batches.values():
        doc = json.loads(body)
        assert all(v is None or math.isfinite(v) for v in doc["readings"].get("grid.p_import_w", []))
