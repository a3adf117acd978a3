"""The box's daily round against a real HTTPS research server: signed jobs fetched, refused with their
reason or decided by the household, run, and only their results posted; `hems jobs` shows it all."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jobs_testing import METER_ID, TOKEN, JobServer, job_doc, make_job, twin_db

from hems.cli import main
from hems.clock import ManualClock
from hems.research_jobs.config import ResearchJobsConfig
from hems.research_jobs.decide import answer
from hems.research_jobs.service import sync
from hems.research_jobs.store import JobStore
from hems.storage import Storage
from hems.telemetry import withdraw
from hems.telemetry.config import TelemetryConfig
from research.jobs.signing import new_private_key
from wire.jobs import Job

NOW = datetime(2026, 1, 20, 3, 45, tzinfo=UTC)
FACTS: dict[str, Any] = {"site": [], "circuits": [], "appliances": []}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return twin_db(tmp_path_factory.mktemp("pristine") / "home.db", 11)


@pytest.fixture
def home(pristine: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(pristine, tmp_path / "home.db"))


def telemetry(server: JobServer, pki: Any, consent: bool = True) -> TelemetryConfig:
    return TelemetryConfig(consent=consent, endpoint=server.url, token=TOKEN, ca_file=str(pki.ca_file))


def circuits_job() -> Job:
    return make_job(
        id="fridge-by-hour",
        categories=["circuits"],
        channels=["circuit.fridge.p_w"],
        sql="SELECT hour, AVG(mean) AS mean_w FROM series_15m WHERE channel = 'circuit.fridge.p_w'"
        " GROUP BY hour",
        outputs=[{"name": "mean_w", "kind": "mean"}],
    )


def offer_everything(server: JobServer, key: Any) -> None:
    server.offer(make_job(), key)  # household: allowed
    server.offer(circuits_job(), key)  # circuits: ask
    server.offer(make_job(id="appliance-use", categories=["appliances"], channels=["appliance.*"]), key)
    server.offer(make_job(id="signed-by-someone-else"), new_private_key())
    unsigned = dict(server.offered[0])
    unsigned.pop("signature")
    server.offered.append(unsigned)
    forged = dict(server.offered[0])
    forged["payload"] = forged["payload"].replace("Mean load", "Forged load")
    server.offered.append(forged)
    attach = job_doc(id="attach", sql="ATTACH DATABASE '/var/lib/hems/hems.db' AS box")
    server.offer(Job.from_dict(attach), key)  # signed by the server, still refused by the box


def test_a_round_refuses_with_reasons_runs_what_is_allowed_and_sends_only_results(
    home: Path, job_server: JobServer, pki: Any, server_key: Any, server_key_b64: str
) -> None:
    offer_everything(job_server, server_key)
    config = ResearchJobsConfig(server_key=server_key_b64, allow=["household"], never=["appliances"], k_min=4)
    with Storage.open(home) as st:
        result = sync(telemetry(job_server, pki), config, st, NOW, FACTS)
        store = JobStore(st.connection, st.lock)
        records = {r.id: r for r in store.records()}
    assert result.error is None, result.error
    assert result.ran == ["load-by-hour"] and result.sent == ["load-by-hour"], result
    assert result.waiting == ["fridge-by-hour"]
    assert records["fridge-by-hour"].status == "waiting"
    assert records["appliance-use"].status == "refused"
    assert "never runs jobs of category appliances" in (records["appliance-use"].reason or "")
    assert records["attach"].status == "refused" and "attaches another database" in (
        records["attach"].reason or ""
    )
    refused = {r.reason for r in records.values() if r.id.startswith(("unsigned", "unverified"))}
    assert any(
        reason and reason.startswith("not a signed job: ") and "signature: missing" in reason
        for reason in refused
    )
    assert (
        sum(1 for reason in refused if reason and reason.startswith("bad signature")) == 2
    )  # other key, forged
    # only the allowed job's result left the box, and it holds nothing identifying
    assert set(job_server.results) == {"load-by-hour"}
    body = gzip.decompress(job_server.raw_results[0])
    assert METER_ID.encode() not in body and b"41000" not in body and b"h-" not in body
    doc = json.loads(body)
    assert doc["schema"] == "hems-job-result/1" and len(doc["groups"]) == 24
    assert records["load-by-hour"].status == "sent" and records["load-by-hour"].usage["rows_read"] > 0

    # the household approves the waiting job: it runs at the next round; nothing runs twice
    with Storage.open(home) as st:
        assert answer(st, "fridge-by-hour", True, NOW) == "approved"
        again = sync(telemetry(job_server, pki), config, st, NOW, FACTS)
    assert again.received == [] and again.ran == ["fridge-by-hour"] and again.sent == ["fridge-by-hour"]
    assert set(job_server.results) == {"load-by-hour", "fridge-by-hour"}


def test_a_household_that_said_never_runs_nothing(
    home: Path, job_server: JobServer, pki: Any, server_key: Any, server_key_b64: str
) -> None:
    job_server.offer(make_job(), server_key)
    config = ResearchJobsConfig(server_key=server_key_b64, decision="never")
    with Storage.open(home) as st:
        result = sync(telemetry(job_server, pki), config, st, NOW, FACTS)
        record = JobStore(st.connection, st.lock).get("load-by-hour")
    assert result.refused == ["load-by-hour"] and result.ran == [] and job_server.results == {}
    assert record is not None and record.status == "refused" and record.decision == "never"


def test_nothing_is_fetched_without_consent_or_a_server_key(
    home: Path, job_server: JobServer, pki: Any, server_key: Any, server_key_b64: str
) -> None:
    job_server.offer(make_job(), server_key)
    with Storage.open(home) as st:
        no_consent = sync(
            telemetry(job_server, pki, consent=False),
            ResearchJobsConfig(server_key=server_key_b64),
            st,
            NOW,
            FACTS,
        )
        no_key = sync(telemetry(job_server, pki), ResearchJobsConfig(), st, NOW, FACTS)
    assert no_consent.stopped is not None and "consent" in no_consent.stopped
    assert no_key.stopped is not None and "server_key" in no_key.stopped
    assert job_server.requests == []


def test_a_withdrawal_drops_results_not_yet_sent(
    home: Path, job_server: JobServer, pki: Any, server_key: Any, server_key_b64: str
) -> None:
    job_server.offer(make_job(), server_key)
    config = ResearchJobsConfig(server_key=server_key_b64, allow=["household"], k_min=4)
    tele = telemetry(job_server, pki)
    job_server.busy_posts = True
    with Storage.open(home) as st:
        busy = sync(tele, config, st, NOW, FACTS)
        store = JobStore(st.connection, st.lock)
        assert busy.ran == ["load-by-hour"] and busy.sent == [] and busy.error is not None
        record = store.get("load-by-hour")
        assert record is not None and record.status == "done" and record.attempts == 1
        withdraw(tele, st, ManualClock(NOW))
        job_server.busy_posts = False
        after = sync(tele, config, st, NOW + timedelta(days=1), FACTS)
        record = store.get("load-by-hour")
    assert after.stopped is not None and "withdrawn" in after.stopped
    assert record is not None and record.status == "refused" and record.result is None
    assert "consent withdrawn" in (record.reason or "")
    assert job_server.results == {}


def test_hems_jobs_lists_shows_and_takes_the_households_answer(
    home: Path,
    job_server: JobServer,
    pki: Any,
    server_key: Any,
    server_key_b64: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    job_server.offer(circuits_job(), server_key)
    job_server.offer(make_job(id="another", categories=["circuits"], channels=["circuit.*"]), server_key)
    config = ResearchJobsConfig(server_key=server_key_b64)  # ask for everything
    with Storage.open(home) as st:
        sync(telemetry(job_server, pki), config, st, NOW, FACTS)
    capsys.readouterr()
    assert main(["jobs", "list", "--db", str(home), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {j["id"]: j["status"] for j in listed} == {"fridge-by-hour": "waiting", "another": "waiting"}
    assert main(["jobs", "show", "fridge-by-hour", "--db", str(home)]) == 0
    shown = capsys.readouterr().out
    assert "A. Researcher, University of Stavanger" in shown and "circuit.fridge.p_w" in shown
    assert main(["jobs", "approve", "fridge-by-hour", "--db", str(home)]) == 0
    assert "approved" in capsys.readouterr().out
    assert main(["jobs", "refuse", "another", "--why", "not now", "--db", str(home)]) == 0
    assert main(["jobs", "approve", "another", "--db", str(home)]) == 2
    assert "only a waiting job" in capsys.readouterr().err
    assert main(["jobs", "show", "nope", "--db", str(home)]) == 2
    assert main(["jobs", "list", "--db", str(home)]) == 0
    text = capsys.readouterr().out
    assert "approved" in text and "refused by the household: not now" in text
