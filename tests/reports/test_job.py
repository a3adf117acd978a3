"""The report job stores the reports that became complete overnight."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from hems.reports import build_report
from hems.reports.job import due_reports, report_job
from hems.storage import Storage

TZ = ZoneInfo("Europe/Oslo")


def test_due_reports_on_a_monday_the_first() -> None:
    assert due_reports(date(2026, 6, 1)) == [
        ("day", date(2026, 5, 31), "report.day.2026-05-31"),
        ("week", date(2026, 5, 25), "report.week.2026-05-25"),
        ("month", date(2026, 5, 31), "report.month.2026-05"),
    ]
    assert [key for _, _, key in due_reports(date(2026, 6, 3))] == ["report.day.2026-06-02"]


async def test_job_stores_yesterday_and_last_week(month_db) -> None:
    path, _ = month_db
    fire = datetime(2026, 3, 9, 6, tzinfo=TZ).astimezone(UTC)  # a Monday morning
    with Storage.open(path) as st:
        assert await report_job(st, "Europe/Oslo")(fire) is True
        day = st.get_doc("report.day.2026-03-08")
        week = st.get_doc("report.week.2026-03-02")
        expected = build_report(st, "week", date(2026, 3, 2), TZ).to_dict()
    assert day["label"] == "2026-03-08" and day["house"]["import_kwh"] > 0
    assert week == expected
