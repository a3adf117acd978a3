"""The box's side of the social comparison against the real research server (HTTPS): with consent
and the opt-in it fetches and stores its comparison and the monthly report words it; without
consent it sends the server nothing at all."""

from __future__ import annotations

import shutil
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from research_testing import Research, batch, household_id

from hems.clock import ManualClock
from hems.config import parse_config
from hems.reports.render import render_text
from hems.reports.summary import build_report
from hems.storage import Storage
from hems.telemetry import daily_upload
from hems.telemetry.privacy import deidentify_site, equipment

household_db = sys.modules["telemetry_conftest"].household_db  # five days from 2026-03-01

OSLO = ZoneInfo("Europe/Oslo")
DAYS = [date(2026, 3, 1) + timedelta(days=i) for i in range(5)]
NOW = datetime(2026, 3, 6, 4, 0, tzinfo=OSLO)  # the box's daily upload the morning after
GROUP = {"main_fuse_a": 25.0, "heating": "heat_pump", "pv": False, "ev": False}


def _config(research: Research, token: str, *, consent: bool, comparison: bool = True) -> Any:
    return parse_config(
        {
            "site": {
                "postcode": "1081",
                "timezone": "Europe/Oslo",
                "main_fuse_a": 25,
                "heating": "heat_pump",
            },
            "telemetry": {
                "consent": consent,
                "comparison": comparison,
                "endpoint": research.server.url,
                "token": token,
                "ca_file": str(research.pki.ca_file),
                "backfill_days": 4,
            },
        }
    )


def _neighbours(research: Research, n: int, postcode: str = "1081") -> list[float]:
    """``n`` homes of the box's group upload the same five days; each one's mean day [kWh]."""
    means = []
    for i in range(n):
        up = research.uploader(research.enrol(postcode))
        hid, kwh = household_id(), []
        for j, day in enumerate(DAYS):
            doc = batch(hid, day, prefix=postcode[:3] + "x", seed=40.0 * i + 7.0 * j)
            doc["site"].update(GROUP)
            assert up.send(doc).status_code == 200
            kwh.append(doc["summary"]["house"]["import_kwh"])
        means.append(float(np.mean(kwh)))
    return means


def _upload(research: Research, db: Path, *, consent: bool, comparison: bool = True) -> Any:
    cfg = _config(research, research.enrol("1081").token, consent=consent, comparison=comparison)
    site = deidentify_site(cfg.site, **equipment(cfg.pv, cfg.appliances))
    with Storage.open(db) as st:
        result = daily_upload(cfg.telemetry, st, ManualClock(NOW.astimezone(ZoneInfo("UTC"))), site)
        stored = st.get_doc("comparison.2026-03")
        report = render_text(build_report(st, "month", DAYS[0], OSLO))
        own = [build_report(st, "day", d, OSLO).to_dict()["house"]["import_kwh"] for d in DAYS]
    return result, stored, report, own


def test_with_consent_the_box_fetches_its_group_and_the_report_says_it(
    research: Research, household_db: Path
) -> None:
    others = _neighbours(research, 5)
    result, stored, report, own = _upload(research, household_db, consent=True)
    assert len(result.sent) == 5 and result.error is None
    assert result.comparison == "comparison for 2026-03: 108x, group fuse=25,heating=heat_pump,pv=0,ev=0"
    doc = stored["comparison"]
    assert (doc["prefix"], doc["group"], doc["month"]) == (
        "108x",
        "fuse=25,heating=heat_pump,pv=0,ev=0",
        "2026-03",
    )
    mine = float(np.mean(own))
    median = float(np.median([*others, mine]))  # the six homes' mean days
    assert doc["monthly"]["homes"] == 6
    assert doc["monthly"]["p50"] == pytest.approx(median, abs=1e-3)
    change = 100 * (mine - median) / median
    word = "less" if change < 0 else "more"
    expected = f"You used {abs(change):.0f} % {word} than similar homes in 108x in March 2026 (6 homes;"
    assert expected in " ".join(report.split()), report


def test_fewer_than_k_homes_the_report_says_there_is_none(research: Research, household_db: Path) -> None:
    _neighbours(research, 2)  # three homes in 108x with the box: not released
    result, stored, report, _ = _upload(research, household_db, consent=True)
    assert stored == {"comparison": None, "reason": result.comparison.split(": ", 1)[1]}
    assert "No comparison in March 2026: this household's prefix is not released" in " ".join(report.split())
    assert "fewer than 5 homes share it" in " ".join(report.split())


def _served(state: Any, at_least: int) -> int:
    """The requests the server has answered, once it has answered ``at_least`` and a moment passed
    with no more (uvicorn counts a request when its answer is complete, just after the client sees it)."""
    deadline = time.monotonic() + 10
    while state.total_requests < at_least and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    return int(state.total_requests)


@pytest.mark.parametrize("consent", [False, True])
def test_without_consent_or_opt_in_nothing_is_fetched(
    research: Research, household_db: Path, tmp_path: Path, consent: bool
) -> None:
    _neighbours(research, 5)
    db = tmp_path / "box.db"
    shutil.copy(household_db, db)
    state = research.server._server.server_state  # the real server counts every request it answers
    before = _served(state, 25)
    assert before == 25  # the neighbours' batches
    result, stored, report, _ = _upload(research, db, consent=consent, comparison=not consent)
    assert result.comparison is None and stored is None
    assert "comparison" not in report.lower() and "similar homes" not in report
    if not consent:
        assert _served(state, before) == before and not result.sent  # not one request
    else:  # consent without the opt-in: the five batches and nothing else
        assert _served(state, before + 5) == before + 5 and len(result.sent) == 5
