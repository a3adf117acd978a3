"""The dashboard's Jobs screen on a real database: every job with its decision, and the household's
answer to a waiting one recorded with a key (Textual's pilot)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from jobs_testing import make_job, twin_db
from textual.widgets import DataTable

from hems.clock import ManualClock
from hems.research_jobs.store import JobStore
from hems.storage import Storage
from tui.app import HemsApp
from tui.source import LocalSource

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)


def seed_jobs(db: Path) -> None:
    with Storage.open(db) as st:
        store = JobStore(st.connection, st.lock)
        job = make_job(
            id="fridge", title="Fridge load by hour", categories=["circuits"], channels=["circuit.*"]
        )
        store.add(job.id, NOW, status="waiting", decision="ask", reason="waiting for the household's answer",
                  payload=job.to_json(), signature="sig", title=job.title, researcher=job.researcher,
                  categories=job.categories, expires_at=job.expires_at)  # fmt: skip
        store.add("unverified-0123abcd", NOW, status="refused", decision="check",
                  reason="bad signature: the job was not signed by the research server's key",
                  payload=None, signature=None)  # fmt: skip


async def test_jobs_screen_lists_decisions_and_takes_an_answer(tmp_path: Path) -> None:
    db = twin_db(tmp_path / "home.db", 3, days=1, step_s=600)
    seed_jobs(db)
    app = HemsApp(
        LocalSource(tmp_path / "state.json", db), ManualClock(NOW), poll_seconds=3600, stored_seconds=3600
    )
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("j")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        table = app.screen.query_one("#jobs-list", DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert {r[1] for r in rows} == {"waiting", "refused"}
        assert any("bad signature" in r[4] for r in rows)
        waiting = next(i for i, r in enumerate(rows) if r[1] == "waiting")
        table.move_cursor(row=waiting)
        await pilot.press("y")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
    with Storage.open(db) as st:
        record = JobStore(st.connection, st.lock).get("fridge")
    assert record is not None and record.status == "approved" and record.decision == "household"
