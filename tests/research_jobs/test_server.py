"""The research server's side of jobs, for real: 20 twin households' boxes fetch a job the server
signed, run it and post their results over HTTPS; the server's combined answer equals the same
query over their data stored centrally; nothing is released below k homes; a household that
resigns leaves no result behind. The command line submits, shows and answers."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import ssl
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from jobs_testing import central_store, job_doc

from hems.cli import main
from hems.research_jobs.config import ResearchJobsConfig
from hems.research_jobs.service import sync
from hems.storage import Storage
from hems.telemetry.config import TelemetryConfig
from research import accounts
from research.auth import household_from_token
from research.enrol import enrol
from research.jobs import service
from research.jobs.signing import new_private_key, save_private_key
from research.jobs.store import close_job, get_job, list_jobs, open_jobs_db, results_of
from research.paths import DataDir
from research.resign import resign
from wire.jobs import LIST_SCHEMA

sys.path.insert(0, str(Path(__file__).parents[1] / "research"))
from research_testing import start

NOW = datetime(2026, 1, 20, 3, 45, tzinfo=UTC)
FACTS: dict[str, Any] = {"site": [], "circuits": [], "appliances": []}


def submitted(data: DataDir, **changes: Any) -> str:
    doc = job_doc(**changes)
    doc.pop("created_at")  # the server's to fill in; expires_at stays far away (the server's clock is real)
    return service.submit(data, service.complete(doc, NOW, None), submitter="test", now=NOW).job.id


def box_round(home: Path, url: str, token: str, ca: Path, server_key: str) -> Any:
    telemetry = TelemetryConfig(consent=True, endpoint=url, token=token, ca_file=str(ca))
    config = ResearchJobsConfig(server_key=server_key, allow=["household"], k_min=4)
    with Storage.open(home) as st:
        return sync(telemetry, config, st, NOW, FACTS)


def test_twenty_boxes_answer_over_https_and_the_server_combines_them(
    twin_dir: Path, tmp_path: Path, pki: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    data = DataDir(tmp_path / "research").ensure()
    job_id = submitted(data)
    homes = [Path(shutil.copy(p, tmp_path / p.name)) for p in sorted(twin_dir.glob("home-*.db"))]
    enrolled = [enrol(data, f"10{i % 10}1", now=NOW) for i in range(len(homes))]
    user = accounts.apply(
        data, name="Ada", email="ada@uio.no", institution="UiO", purpose="Peaks", password="x" * 12, now=NOW
    )
    accounts.decide(data, user, "approved", NOW)
    researcher = {"Authorization": f"Bearer {accounts.new_api_key(data, user, NOW)}"}
    https = ssl.create_default_context(cafile=str(pki.ca_file))
    server = start(data.root, pki)
    try:
        key = service.public_key(data)
        for i, (home, e) in enumerate(zip(homes, enrolled, strict=True)):
            result = box_round(home, server.url, e.token, pki.ca_file, key)
            assert result.error is None, result.error
            assert result.ran == [job_id] and result.sent == [job_id], result
            if i == 3:  # four homes: the server's k is 5, nothing is released yet
                with pytest.raises(service.NotReleased, match="4 of the 5 homes"):
                    service.answer(data, job_id)
                waiting = httpx.get(f"{server.url}/jobs/{job_id}/result", headers=researcher, verify=https)
                assert waiting.status_code == 409 and "not yet: 4 of the 5 homes" in waiting.json()["error"]
        released = httpx.get(f"{server.url}/jobs/{job_id}/result", headers=researcher, verify=https)
        assert released.status_code == 200, released.text
        # a box asked again sends nothing new, and its home still counts once
        again = box_round(homes[0], server.url, enrolled[0].token, pki.ca_file, key)
        assert again.received == [] and again.sent == []
        record = get_job(data, job_id)
        assert record is not None and record.homes == 20
        # a result that does not fit its job, and a token the server does not know, are refused
        with httpx.Client(verify=ssl.create_default_context(cafile=str(pki.ca_file))) as client:
            bad = client.post(
                f"{server.url}/jobs/{job_id}/results",
                content=gzip.compress(b'{"schema": "hems-job-result/1", "job_id": "x"}'),
                headers={"Authorization": f"Bearer {enrolled[1].token}", "Content-Encoding": "gzip"},
            )
            assert bad.status_code == 422 and "does not fit job" in bad.json()["error"]
            stranger = client.get(f"{server.url}/jobs", headers={"Authorization": "Bearer hems-nobody"})
            assert stranger.status_code == 401
            missing = client.post(
                f"{server.url}/jobs/no-such-job/results",
                content=gzip.compress(b"{}"),
                headers={"Authorization": f"Bearer {enrolled[1].token}", "Content-Encoding": "gzip"},
            )
            assert missing.status_code == 404
            # an acknowledgement lost on the way: the box posts the same result again, it counts once
            with open_jobs_db(data) as db:
                mine = db.execute(
                    "SELECT result FROM results WHERE enrolment = ?", (enrolled[1].enrolment,)
                ).fetchone()[0]
            auth = {"Authorization": f"Bearer {enrolled[1].token}", "Content-Encoding": "gzip"}
            again_posted = client.post(
                f"{server.url}/jobs/{job_id}/results", content=gzip.compress(mine.encode()), headers=auth
            )
            assert again_posted.status_code == 200 and again_posted.json() == {"job_id": job_id, "homes": 20}
            # a result without any group is no contribution
            empty = json.loads(mine) | {"groups": []}
            refused = client.post(
                f"{server.url}/jobs/{job_id}/results",
                content=gzip.compress(json.dumps(empty).encode()),
                headers=auth,
            )
            assert refused.status_code == 422 and "groups: empty" in refused.json()["error"]
            assert results_of(data, job_id).count(json.loads(mine)) == 1
            # closed: no longer offered to the boxes (what they already hold is still taken)
            assert close_job(data, job_id, NOW)
            offered = client.get(
                f"{server.url}/jobs", headers={"Authorization": f"Bearer {enrolled[2].token}"}
            )
            assert offered.status_code == 200 and offered.json() == {"schema": LIST_SCHEMA, "jobs": []}
    finally:
        server.stop()

    combined = service.answer(data, job_id)
    assert released.json() == combined  # what the researcher was given over HTTPS
    assert main(["research", "job", "result", job_id, "--data", str(data.root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == combined
    central = central_store(homes)
    expected = {
        hour: (mean, n)
        for hour, mean, n in central.execute("SELECT hour, AVG(mean), COUNT(*) FROM series_15m GROUP BY hour")
    }
    assert combined["homes"] == 20 and combined["groups_withheld"] == 0
    assert [g["key"][0] for g in combined["groups"]] == sorted(expected)
    for group in combined["groups"]:
        mean, n = expected[group["key"][0]]
        assert group["homes"] == 20
        assert group["values"]["mean_w"]["mean"] == pytest.approx(mean, rel=1e-9)
        assert group["values"]["slots"]["count"] == n

    # a household resigns: its result is gone from the answer and from the file's bytes
    gone = enrolled[7]
    with open_jobs_db(data) as db:
        text = db.execute("SELECT result FROM results WHERE enrolment = ?", (gone.enrolment,)).fetchone()[0]
    receipt = resign(data, gone.enrolment, requested_by="household", requested_at=NOW, now=NOW)
    assert "research job results" in receipt.what
    assert len(results_of(data, job_id)) == 19
    assert service.answer(data, job_id)["homes"] == 19
    held = b"".join(p.read_bytes() for p in data.root.glob("jobs.sqlite*"))
    assert gone.enrolment.encode() not in held and text.encode() not in held
    assert enrolled[8].enrolment.encode() in held  # the scan can find one that stays


def test_the_command_line_submits_checks_and_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "research"
    assert main(["research", "job", "key", "--data", str(data)]) == 0
    printed = capsys.readouterr().out
    key_file = data / "keys" / service.KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600 and (data / "keys").stat().st_mode & 0o777 == 0o700
    assert service.public_key(DataDir(data)) in printed and "[research_jobs]" in printed

    sql = tmp_path / "job.sql"
    sql.write_text(
        "SELECT hour, AVG(mean) AS mean_w FROM series_15m WHERE channel = 'grid.p_import_w' GROUP BY hour"
    )
    spec = tmp_path / "job.toml"
    spec.write_text(
        'title = "Mean load by hour"\npurpose = "Evening peaks"\nresearcher = "A. Researcher, UiO"\n'
        'categories = ["household"]\nchannels = ["grid.p_import_w"]\nkeys = ["hour"]\nk = 5\n'
        "expires_at = 2099-01-01T00:00:00Z\n"
        '[period]\nstart = "2026-01-01"\nend = "2026-02-01"\n'
        "[budget]\ncpu_seconds = 10\nrows_read = 1000000\noutput_cells = 1000\nmemory_mb = 128\n"
        '[[outputs]]\nname = "mean_w"\nkind = "mean"\n'
    )
    base = ["research", "job", "submit", "--data", str(data), "--sql", str(sql), "--spec", str(spec)]
    assert main([*base, "--id", "evening", "--json"]) == 0
    assert '"id": "evening"' in capsys.readouterr().out
    assert main(["research", "job", "list", "--data", str(data)]) == 0
    assert "evening" in capsys.readouterr().out
    assert main(["research", "job", "show", "evening", "--data", str(data)]) == 0
    assert "Evening peaks" in capsys.readouterr().out

    # refused with one line, nothing stored: the same id twice, a write, a forbidden table, a bad spec
    assert main([*base, "--id", "evening"]) == 2
    assert "exists already" in capsys.readouterr().err
    sql.write_text("DELETE FROM series_15m")
    assert main([*base, "--id", "write"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "every box would refuse it" in err
    sql.write_text("SELECT hour, AVG(mean) AS mean_w FROM outbox GROUP BY hour")
    assert main([*base, "--id", "outbox"]) == 2
    assert "every box would refuse it" in capsys.readouterr().err
    spec.write_text("title = ")
    assert main([*base, "--id", "broken"]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    # --job: one JSON document with the SQL inside; without SQL anywhere, one line says what is missing
    whole = job_doc(id="whole")
    whole.pop("created_at")
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(whole))
    assert main(["research", "job", "submit", "--data", str(data), "--job", str(job_file), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "whole"
    job_file.write_text(json.dumps({k: v for k, v in whole.items() if k != "sql"} | {"id": "nosql"}))
    assert main(["research", "job", "submit", "--data", str(data), "--job", str(job_file)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds no sql: give the job's SELECT with --sql FILE" in err
    assert [r.job.id for r in list_jobs(DataDir(data))] == ["evening", "whole"]

    assert main(["research", "job", "result", "evening", "--data", str(data)]) == 2
    assert "not yet: 0 of the 5 homes" in capsys.readouterr().err
    assert main(["research", "job", "close", "evening", "--data", str(data)]) == 0
    assert main(["research", "job", "show", "nothing", "--data", str(data)]) == 2


def test_a_result_larger_than_its_jobs_budget_is_refused(tmp_path: Path) -> None:
    """The server counts a result's cells as the box does: more than ``budget.output_cells`` cannot
    come from a box that kept to the job's budget."""
    data = DataDir(tmp_path / "research").ensure()
    budget = {"cpu_seconds": 10, "rows_read": 1_000_000, "output_cells": 8, "memory_mb": 256}
    job_id = submitted(
        data,
        id="tight",
        sql="SELECT hour, AVG(mean) AS mean_w, COUNT(*) AS slots FROM series_15m GROUP BY hour",
        outputs=[{"name": "mean_w", "kind": "mean"}, {"name": "slots", "kind": "count"}],
        budget=budget,
    )

    def result(hours: range) -> dict[str, Any]:
        groups = [
            {"key": [h], "values": {"mean_w": {"sum": 10.0, "count": 4}, "slots": {"count": 4}}}
            for h in hours
        ]
        return {
            "schema": "hems-job-result/1",
            "job_id": job_id,
            "keys": ["hour"],
            "groups": groups,
            "privacy": None,
            "usage": {},
            "software": "test",
        }

    # 4 cells a group (the hour, the mean's sum and count, the count): two groups fit, three do not
    a, b = (enrol(data, "1081", now=NOW).enrolment for _ in range(2))
    assert service.receive_result(data, job_id, a, result(range(2)), NOW) == 1
    with pytest.raises(service.WireError, match=r"12 cells, more than the job.s budget\.output_cells 8"):
        service.receive_result(data, job_id, b, result(range(3)), NOW)
    assert len(results_of(data, job_id)) == 1


def test_boxes_noisy_results_are_combined_and_a_result_misstating_its_noise_is_refused(
    twin_dir: Path, tmp_path: Path, pki: Any
) -> None:
    """Real boxes add the noise a job asks for and say so; the server takes their results over HTTPS
    and states the combined noise. A result whose noise statement is missing or malformed would make
    ``noise_sd`` wrong (or the answer fail for every home): it is refused, and the answer stands."""
    data = DataDir(tmp_path / "research").ensure()
    job_id = submitted(
        data,
        id="noisy",
        sql="SELECT hour, COUNT(*) AS slots, AVG(mean) AS mean_w FROM series_15m"
        " WHERE channel = 'grid.p_import_w' GROUP BY hour",
        outputs=[{"name": "slots", "kind": "count"}, {"name": "mean_w", "kind": "mean"}],
        privacy={"epsilon": 4.0, "mechanism": "laplace", "bounds": {"mean_w": [0, 15000]}},
    )
    homes = [Path(shutil.copy(p, tmp_path / p.name)) for p in sorted(twin_dir.glob("home-*.db"))[:5]]
    enrolled = [enrol(data, "1081", now=NOW) for _ in homes]
    server = start(data.root, pki)
    try:
        key = service.public_key(data)
        for home, e in zip(homes, enrolled, strict=True):
            result = box_round(home, server.url, e.token, pki.ca_file, key)
            assert result.error is None and result.sent == [job_id], result
        with open_jobs_db(data) as db:
            honest = json.loads(db.execute("SELECT result FROM results LIMIT 1").fetchone()[0])
        stranger = enrol(data, "1081", now=NOW)
        auth = {"Authorization": f"Bearer {stranger.token}", "Content-Encoding": "gzip"}
        forged: list[tuple[Any, str]] = [
            ({"scales": "none"}, "privacy.mechanism"),
            (honest["privacy"] | {"epsilon": 10.0}, "privacy.epsilon: the job asks for 4.0"),
            (
                honest["privacy"] | {"scales": {"slots": {"count": 1.0}}},
                "privacy.scales: expected the noise of",
            ),
            (
                honest["privacy"] | {"scales": {**honest["privacy"]["scales"], "slots": {"count": 0}}},
                "positive",
            ),
        ]
        with httpx.Client(verify=ssl.create_default_context(cafile=str(pki.ca_file))) as client:
            for privacy, reason in forged:
                body = gzip.compress(json.dumps(honest | {"privacy": privacy}).encode())
                refused = client.post(f"{server.url}/jobs/{job_id}/results", content=body, headers=auth)
                assert refused.status_code == 422 and reason in refused.json()["error"], refused.text
    finally:
        server.stop()
    combined = service.answer(data, job_id)
    assert combined["homes"] == 5 and combined["groups"]
    scale = honest["privacy"]["scales"]["slots"]["count"]
    for group in combined["groups"]:
        assert group["noise_sd"]["slots"]["count"] == pytest.approx((5 * 2 * scale**2) ** 0.5)


def test_a_server_started_with_a_smaller_k_still_releases_nothing_below_five_homes(tmp_path: Path) -> None:
    """``hems research serve --k 2`` lowers the postcode-prefix k; a job's answer stays held to 5."""
    data = DataDir(tmp_path / "research").ensure()
    job_id = submitted(
        data,
        id="small-k",
        k=2,
        sql="SELECT hour, COUNT(*) AS slots FROM series_15m GROUP BY hour",
        outputs=[{"name": "slots", "kind": "count"}],
    )
    one = {"key": [17], "values": {"slots": {"count": 4}}}
    doc = {"schema": "hems-job-result/1", "job_id": job_id, "keys": ["hour"], "groups": [one]}
    homes = [enrol(data, "1081", now=NOW).enrolment for _ in range(5)]
    for home in homes[:4]:
        service.receive_result(data, job_id, home, doc | {"privacy": None}, NOW)
    with pytest.raises(service.NotReleased, match="not yet: 4 of the 5 homes"):
        service.answer(data, job_id, k_min=2)
    job = get_job(data, job_id)
    assert job is not None
    assert service.combine(job.job, results_of(data, job_id), k_min=2)["groups_withheld"] == 1
    service.receive_result(data, job_id, homes[4], doc | {"privacy": None}, NOW)
    released = service.answer(data, job_id, k_min=2)
    assert released["k"] == 5 and released["groups"] == [
        {"key": [17], "homes": 5, "values": {"slots": {"count": 20.0}}}
    ]


def test_the_signing_key_is_made_once_even_when_asked_for_at_the_same_moment(tmp_path: Path) -> None:
    """The server and `hems research job submit` may both be first to need the key: one key results
    (the boxes hold its public half), never readable by anyone else, never overwritten."""
    data = DataDir(tmp_path / "research")
    start_together = threading.Barrier(8)
    keys: list[str] = []

    def first_use() -> None:
        start_together.wait()
        keys.append(service.public_key(data))

    old_umask = os.umask(0)  # what the process would give a new file: readable by everyone
    try:
        threads = [threading.Thread(target=first_use) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        os.umask(old_umask)
    assert len(keys) == 8 and len(set(keys)) == 1
    key_file = data.keys / service.KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in data.keys.iterdir()] == [service.KEY_FILE]  # no temporary file left
    with pytest.raises(FileExistsError):
        save_private_key(new_private_key(), key_file)
    assert service.public_key(data) == keys[0]


def test_a_result_on_its_way_while_its_household_resigns_is_not_kept(tmp_path: Path) -> None:
    """The token was good when the result arrived; the household resigned before it was written
    (the interleaving of two requests, made deterministic): it is refused, and nothing of it stays."""
    data = DataDir(tmp_path / "research").ensure()
    job_id = submitted(
        data,
        id="race",
        sql="SELECT hour, COUNT(*) AS slots FROM series_15m GROUP BY hour",
        outputs=[{"name": "slots", "kind": "count"}],
    )
    home = enrol(data, "1081", now=NOW)
    assert household_from_token(data, home.token) is not None  # the door let the request in
    resign(data, home.enrolment, requested_by="household", requested_at=NOW, now=NOW)
    doc: dict[str, Any] = {"schema": "hems-job-result/1", "job_id": job_id, "keys": ["hour"], "privacy": None}
    doc["groups"] = [{"key": [17], "values": {"slots": {"count": 4}}}]
    with pytest.raises(service.Revoked, match="revoked"):
        service.receive_result(data, job_id, home.enrolment, doc, NOW)
    assert results_of(data, job_id) == []
