"""Reports and telemetry on the simulated household of `hems demo` (the whole box, headless)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hems.cli import main
from hems.reports import build_report
from hems.storage import Storage

TZ = ZoneInfo("Europe/Oslo")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    args = ["demo", "--headless", "--speed", "0", "--stop-after", "26h", "--db", str(path)]
    assert main([*args, "--seed", "7", "--start", "2026-03-02"]) == 0
    return path


def test_day_report_equals_the_raw_samples(demo_db: Path) -> None:
    day = date(2026, 3, 2)
    start = datetime(2026, 3, 2, tzinfo=TZ).astimezone(UTC)
    end = datetime(2026, 3, 3, tzinfo=TZ).astimezone(UTC)
    with Storage.open(demo_db, readonly=True) as st:
        report = build_report(st, "day", day, TZ)

        def raw_kwh(channel: str) -> float:
            points = st.series(channel, start, end, "raw")
            step = (points[1].time - points[0].time).total_seconds()
            return sum(p.mean for p in points) * step / 3.6e6

        assert report.coverage == 1.0
        assert report.import_kwh == pytest.approx(raw_kwh("grid.p_import_w"), rel=1e-4)
        assert report.pv_kwh == pytest.approx(raw_kwh("pv.p_w"), rel=1e-4, abs=1e-6)
        for circuit, alloc in report.flows.consumers.items():
            assert alloc.kwh == pytest.approx(raw_kwh(f"circuit.{circuit}.p_w"), rel=1e-4, abs=1e-6)
    assert report.flows.consumers, "the simulated household has metered circuits"


def test_telemetry_preview_of_the_demo_day_leaks_no_meter_id(demo_db: Path, tmp_path: Path, capsys) -> None:
    with Storage.open(demo_db, readonly=True) as st:
        meter_id = st.get_doc("meter")["meter_id"]
    copy = tmp_path / "demo.db"
    copy.write_bytes(demo_db.read_bytes())
    assert main(["telemetry", "preview", "--db", str(copy), "--date", "2026-03-02", "--json"]) == 0
    out = capsys.readouterr().out
    batch = json.loads(out)
    assert batch["summary"]["house"]["import_kwh"] > 0
    assert meter_id and meter_id not in out
