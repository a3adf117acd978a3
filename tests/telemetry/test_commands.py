"""`hems telemetry` and `hems consent` through the real CLI, against the HTTPS research server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hems.cli import main
from hems.clock import SystemClock

CONTACT = {"name": "Ola Nordmann", "address": "Kirkeveien 3", "email": "ola@example.no"}


def write_config(tmp_path: Path, db: Path, server=None, consent: bool = True) -> Path:
    lines = [
        "[site]",
        'postcode = "1081"',
        "[storage]",
        f'path = "{db}"',
        "[contact]",
        *(f'{k} = "{v}"' for k, v in CONTACT.items()),
        "[telemetry]",
        f"consent = {'true' if consent else 'false'}",
    ]
    if server is not None:
        lines += [
            f'endpoint = "{server.url}"',
            'token = "tok-household-42"',
            f'ca_file = "{server.pki.ca_file}"',
        ]
    path = tmp_path / "hems.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def day_after_the_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's wall clock at noon the day after the test database's last day.

    On the real wall clock "yesterday" is complete only from 00:15 Oslo time (the settle
    margin): a run between midnight and 00:15 had nothing to send and failed in CI."""
    monkeypatch.setattr(SystemClock, "now", lambda self: datetime(2026, 3, 6, 12, tzinfo=UTC))


def test_preview_prints_the_batch_without_identity(household_db: Path, tmp_path: Path, capsys) -> None:
    cfg = write_config(tmp_path, household_db)
    assert main(["telemetry", "preview", "--config", str(cfg), "--date", "2026-03-02", "--json"]) == 0
    out = capsys.readouterr().out
    batch = json.loads(out)
    assert batch["day"] == "2026-03-02" and batch["site"]["postcode_prefix"] == "108x"
    for value in [*CONTACT.values(), "1081", "7359992890123456"]:
        assert value not in out


@pytest.mark.usefixtures("day_after_the_data")
def test_send_and_withdraw_through_the_cli(server, household_db: Path, tmp_path: Path, capsys) -> None:
    cfg = write_config(tmp_path, household_db, server)
    assert main(["telemetry", "send", "--config", str(cfg), "--json"]) == 0
    sent = json.loads(capsys.readouterr().out)["sent"]
    # the first run with consent queues yesterday, 5 March (backfill_days = 0)
    assert len(sent) == 1 and sent[0].count("/") == 1 and sent[0].endswith("2026-03-05")
    assert set(server.received.batches) == set(sent)
    assert main(["consent", "withdraw", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    hid = sent[0].split("/")[0]
    assert f"confirmed the deletion of {hid}" in out
    assert server.received.deletions == [hid]
    assert main(["telemetry", "send", "--config", str(cfg), "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["sent"] == [] and "withdrawn" in after["stopped"]
    assert main(["consent", "give", "--config", str(cfg)]) == 0
    capsys.readouterr()
    assert main(["telemetry", "status", "--config", str(cfg), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["blocked"] is None and status["household_id"] is None  # a new id on the next upload


def test_privacy_check_command(tmp_path: Path, capsys) -> None:
    f = tmp_path / "prefixes.txt"
    f.write_text("108x\n108x\n108x\n050x\n")
    assert main(["telemetry", "privacy-check", str(f), "--k", "3", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["rare"] == [{"prefix": "050x", "households": 1}] and doc["households"] == 4
    assert main(["telemetry", "privacy-check", str(f), "--k", "1"]) == 0
    assert main(["telemetry", "privacy-check", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.usefixtures("day_after_the_data")
def test_a_withdrawal_that_worked_exits_0_and_status_says_no_consent(
    server, household_db: Path, tmp_path: Path, capsys
) -> None:
    # The server is down when the household withdraws: the withdrawal itself worked (uploads stop,
    # the outbox is gone, the deletion request waits for the daemon), so exit 0 and say so.
    cfg = write_config(tmp_path, household_db, server)
    assert main(["telemetry", "send", "--config", str(cfg), "--json"]) == 0
    capsys.readouterr()
    down = write_config(tmp_path, household_db, server)
    down.write_text(down.read_text().replace(server.url, "https://127.0.0.1:9/hems/v1/batches"))
    assert main(["consent", "withdraw", "--config", str(down)]) == 0
    out = capsys.readouterr().out
    assert "consent withdrawn" in out and "queued" in out
    assert main(["telemetry", "status", "--config", str(down), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["consent"] is False and status["consent_in_config"] is True
    assert status["withdrawn_at"] is not None and status["deletions_pending"] == 1
    assert main(["telemetry", "status", "--config", str(down)]) == 0
    assert "consent              False" in capsys.readouterr().out
