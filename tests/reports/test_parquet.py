"""`hems export --format parquet`: one tidy table that pyarrow, pandas and DuckDB read, equal to the
storage read API; a clear line when pyarrow is missing."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hems.cli import main
from hems.storage import Storage
from hems.storage.channels import as_stored

pq = pytest.importorskip("pyarrow.parquet")


def test_parquet_equals_the_storage_read_api(
    month_db, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = month_db
    out = tmp_path / "march.parquet"
    args = ["export", "--db", str(path), "--format", "parquet", "--resolution", "15m"]
    assert main([*args, "--from", "2026-03-28", "--to", "2026-03-29", "--out", str(out)]) == 0
    assert "Parquet" in capsys.readouterr().out
    table = pq.read_table(out)
    assert table.schema.metadata[b"hems.resolution"] == b"15m"
    assert table.schema.metadata[b"hems.timezone"] == b"Europe/Oslo"
    rows = table.to_pylist()
    start = datetime(2026, 3, 27, 23, 0, tzinfo=UTC)
    end = datetime(2026, 3, 29, 22, 0, tzinfo=UTC)  # 47 hours: the 29th has summer time from 02:00
    with Storage.open(path, readonly=True) as st:
        for channel in st.channels():
            want = st.series(channel, start, end, "15m")
            got = [r for r in rows if r["channel"] == channel]
            assert [(r["time"], r["n"]) for r in got] == [(p.time, p.n) for p in want]
            assert [r["mean"] for r in got] == [as_stored(p.mean, channel) for p in want]
            assert [r["mean"] for r in got] == pytest.approx([p.mean for p in want], rel=1e-6)
    imp = [r for r in rows if r["channel"] == "grid.p_import_w"]
    assert len(imp) == 47 * 4 and {r["unit"] for r in imp} == {"w"}


def test_duckdb_reads_it_with_plain_sql(month_db, tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    path, _ = month_db
    out = tmp_path / "day.parquet"
    args = ["export", "--db", str(path), "--format", "parquet", "--resolution", "1h"]
    assert main([*args, "--from", "2026-03-02", "--to", "2026-03-02", "--out", str(out)]) == 0
    kwh = (
        duckdb.connect()
        .execute(
            f"SELECT sum(mean) / 1000 FROM '{out}' WHERE channel = 'grid.p_import_w'"  # 1-h means [W] → kWh
        )
        .fetchone()[0]
    )
    with Storage.open(path, readonly=True) as st:
        pts = st.series(
            "grid.p_import_w",
            datetime(2026, 3, 1, 23, tzinfo=UTC),
            datetime(2026, 3, 2, 23, tzinfo=UTC),
            "1h",
        )
    assert kwh == pytest.approx(sum(p.mean for p in pts) / 1000)


def test_without_pyarrow_one_clear_line(month_db, tmp_path: Path, monkeypatch, capsys) -> None:
    path, _ = month_db
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    args = ["export", "--db", str(path), "--format", "parquet", "--from", "2026-03-02", "--to", "2026-03-02"]
    assert main([*args, "--out", str(tmp_path / "x.parquet")]) == 2
    err = capsys.readouterr().err
    assert err == (
        "hems: error: --format parquet needs pyarrow, which this install lacks: "
        "pip install 'hems[parquet]' (or use --format csv)\n"
    )
