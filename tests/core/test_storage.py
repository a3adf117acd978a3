"""Storage: round trip, rollups equal the raw data, DST days, retention, resume, frames."""

from __future__ import annotations

import math
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hems.cli import main
from hems.storage import SampleWriter, SchemaError, Storage, WriterSettings

OSLO = ZoneInfo("Europe/Oslo")


def fill(
    st: Storage, start: datetime, cycles: int, seed: int = 1, **settings: int
) -> list[tuple[datetime, float, float]]:
    """Write ``cycles`` 10-s cycles of two channels (one with gaps); returns what was written."""
    r = random.Random(seed)
    start = start.astimezone(UTC)  # arithmetic on instants, not on local wall time
    w = SampleWriter(st, WriterSettings(**settings))
    written = []
    for i in range(cycles):
        t = start + timedelta(seconds=10 * i)
        a = r.uniform(0, 5000)
        values = {"grid.p_import_w": a}
        b = math.nan
        if i % 7:
            b = r.uniform(0, 16)
            values["circuit.k.i_a"] = b
        w.add(t, values)
        written.append((t, a, b))
    w.close()
    return written


@pytest.fixture
def st(tmp_path: Path) -> Storage:
    s = Storage.open(tmp_path / "h.db", timezone="Europe/Oslo")
    yield s
    s.close()


def test_raw_round_trip(st: Storage) -> None:
    start = datetime(2026, 1, 15, tzinfo=UTC)
    written = fill(st, start, 100)
    pts = st.series("grid.p_import_w", start, start + timedelta(hours=1))
    assert [p.time for p in pts] == [t for t, _, _ in written]
    # powers and currents are stored as float32 (7 significant digits), energy registers as float64
    assert [p.mean for p in pts] == pytest.approx([a for _, a, _ in written], rel=1e-7)
    gaps = st.series("circuit.k.i_a", start, start + timedelta(hours=1))
    assert len(gaps) == sum(1 for *_, b in written if not math.isnan(b))
    assert st.last_time() == written[-1][0]
    assert st.channels() == ["circuit.k.i_a", "grid.p_import_w"]


@pytest.mark.parametrize("resolution,seconds", [("1m", 60), ("15m", 900), ("1h", 3600)])
def test_rollups_equal_the_raw_data_they_summarise(st: Storage, resolution: str, seconds: int) -> None:
    start = datetime(2026, 1, 15, 0, 0, 30, tzinfo=UTC)  # not on a slot boundary
    fill(st, start, 3 * 360 + 17)
    end = start + timedelta(hours=4)
    for channel in ("grid.p_import_w", "circuit.k.i_a"):
        slots: dict[int, list[float]] = {}
        for raw in st.series(channel, start, end):  # the raw rows on disk
            ts = int(raw.time.timestamp())
            slots.setdefault(ts - ts % seconds, []).append(raw.mean)
        pts = st.series(channel, start - timedelta(hours=1), end, resolution)
        assert [int(p.time.timestamp()) for p in pts] == sorted(slots)
        for p in pts:
            vals = slots[int(p.time.timestamp())]
            assert p.n == len(vals)
            assert p.mean == pytest.approx(sum(vals) / len(vals), rel=1e-7)  # stored as float32
            assert (p.min, p.max) == (min(vals), max(vals))


@pytest.mark.parametrize(
    "day,quarters,hours", [("2026-03-29", 92, 23), ("2026-10-25", 100, 25), ("2026-01-15", 96, 24)]
)
def test_dst_days_in_rollups(st: Storage, day: str, quarters: int, hours: int) -> None:
    d = datetime.fromisoformat(day).replace(tzinfo=OSLO)
    following = (d.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=OSLO)
    start = d - timedelta(hours=2)
    fill(st, start, (hours + 5) * 360)
    q = st.series("grid.p_import_w", d, following, "15m")
    assert len(q) == quarters
    assert len(st.series("grid.p_import_w", d, following, "1h")) == hours
    days = st.series("grid.p_import_w", d, following, "1d")
    assert len(days) == 1 and days[0].time == d.astimezone(UTC)
    assert days[0].n == hours * 360
    # the day's mean is the sample-weighted mean of its quarter-hours
    assert days[0].mean == pytest.approx(sum(p.mean * p.n for p in q) / sum(p.n for p in q))


def test_open_slots_are_completed_from_finer_data(st: Storage) -> None:
    start = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
    written = fill(st, start, 95)  # 15 min 50 s: the second quarter-hour and the hour are still open
    q = st.series("grid.p_import_w", start, start + timedelta(hours=1), "15m")
    assert len(q) == 2
    assert q[1].n == 5
    assert q[1].mean == pytest.approx(sum(a for _, a, _ in written[90:]) / 5)
    h = st.series("grid.p_import_w", start, start + timedelta(hours=1), "1h")
    assert h[0].n == 95


def test_resume_never_duplicates_and_keeps_rollups_exact(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    start = datetime(2026, 1, 15, tzinfo=UTC)
    with Storage.open(path) as st:
        first = fill(st, start, 400, seed=1)
    with Storage.open(path) as st:
        w = SampleWriter(st)
        assert w.last_time == first[-1][0]
        assert not w.add(first[-1][0], {"grid.p_import_w": 1.0})  # old instants are refused
        w.close()
    with Storage.open(path) as st:
        second = fill(st, first[-1][0] + timedelta(seconds=10), 400, seed=2)
        allrows = first + second
        raw = st.series("grid.p_import_w", start, start + timedelta(hours=3))
        assert len(raw) == 800
        for p in st.series("grid.p_import_w", start, start + timedelta(hours=3), "15m"):
            vals = [a for t, a, _ in allrows if p.time <= t < p.time + timedelta(minutes=15)]
            assert p.n == len(vals) and p.mean == pytest.approx(sum(vals) / len(vals))


def test_retention_drops_old_raw_but_keeps_rollups(st: Storage) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    fill(st, start, 4 * 8640, raw_days=2, minute_days=3)
    end = start + timedelta(days=5)
    first_raw = st.series("grid.p_import_w", start, end)[0].time
    last = st.last_time()
    # retention runs once per hour of data and drops whole batches (60 cycles = 10 min here)
    assert last - timedelta(days=2, hours=1, minutes=10) <= first_raw <= last - timedelta(days=1, hours=23)
    assert st.series("grid.p_import_w", start, end, "1m")[0].time < first_raw
    assert st.series("grid.p_import_w", start, end, "1h")[0].time == start


def test_frames_are_kept_bounded(st: Storage) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    w = SampleWriter(st, WriterSettings(frame_max_rows=50))
    for i in range(800):
        t = start + timedelta(seconds=10 * i)
        frames = [(t - timedelta(seconds=2.5 * k), bytes([0x7E, i % 256, k, 0x7E])) for k in (3, 2, 1, 0)]
        w.add(t, {"grid.p_import_w": 1.0}, frames)
    w.close()
    kept = st.frames(start - timedelta(hours=1), start + timedelta(days=1))
    assert 50 <= len(kept) <= 50 + 4 * 360 + 4 * 60  # trimmed once per hour of data, by whole batches
    assert kept[-2:] == [
        (start + timedelta(seconds=7987.5), bytes([0x7E, 799 % 256, 1, 0x7E])),
        (start + timedelta(seconds=7990), bytes([0x7E, 799 % 256, 0, 0x7E])),
    ]


def test_batches_commit_by_cycles(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    st = Storage.open(path)
    w = SampleWriter(st, WriterSettings(batch_cycles=10, batch_seconds=3600))
    reader = Storage.open(path, readonly=True)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    counts = []
    for i in range(25):
        w.add(start + timedelta(seconds=10 * i), {"x": float(i)})
        counts.append(len(reader.series("x", start, start + timedelta(hours=1))))
    assert counts[0] == 1  # the very first cycle is committed at once
    assert counts[1:10] == [1] * 9 and counts[10] == 11 and counts[20] == 21
    w.close()
    assert len(reader.series("x", start, start + timedelta(hours=1))) == 25
    reader.close()
    st.close()


def test_documents_and_events(st: Storage) -> None:
    t = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert st.get_doc("plan") is None
    st.put_doc("plan", {"status": "optimal", "objective": 41.27}, t)
    assert st.get_doc("plan") == {"status": "optimal", "objective": 41.27}
    st.log_event(t, "alert", "warning", "L1 at 27 A", {"line": "L1"})
    st.log_event(t + timedelta(minutes=1), "action", "info", "paused ev")
    assert [e.kind for e in st.events(t, t + timedelta(hours=1))] == ["alert", "action"]
    (alert,) = st.events(t, t + timedelta(hours=1), kind="alert")
    assert alert.data == {"line": "L1"} and alert.time == t


def test_readonly_open_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Storage.open(tmp_path / "none.db", readonly=True)


def test_energy_registers_keep_every_watt_hour(st: Storage) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    w = SampleWriter(st)
    for i in range(10):
        w.add(
            start + timedelta(seconds=10 * i),
            {"grid.e_import_kwh": 123456.789 + i / 1000, "grid.p_import_w": 1.1},
        )
    w.close()
    pts = st.series("grid.e_import_kwh", start, start + timedelta(minutes=5))
    assert [p.mean for p in pts] == [123456.789 + i / 1000 for i in range(10)]


def test_a_database_of_another_schema_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    Storage.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    for readonly in (False, True):
        with pytest.raises(SchemaError, match=r"old\.db: database schema 1, this hems reads schema 2"):
            Storage.open(path, readonly=readonly)


def test_a_file_that_is_not_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.db"
    path.write_text("shopping list: milk, bread\n" * 100)
    with pytest.raises(SchemaError, match="not a hems database"):
        Storage.open(path, readonly=True)
    assert main(["demo", "--headless", "--db", str(path), "--stop-after", "1m"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"hems: error: {path}: ")
    assert path.read_text().startswith("shopping list")  # nothing of the user's file was touched
