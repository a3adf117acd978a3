"""Series read back from what hems writes: `hems export` ESPI and CSV, and a hems box's database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from community_testing import FLAT, Community, bill_json

from community.series import Period, to_wh
from community.sources import SourceError, parse_csv, parse_espi, read_source
from hems.storage import SampleWriter, Storage, WriterSettings

TZ = ZoneInfo("Europe/Paris")


def box(path: Path, first: date, days: int, values: Callable[[datetime], dict[str, float]]) -> Path:
    """A hems database of ``days`` local days, a sample every 5 minutes."""
    t = datetime(first.year, first.month, first.day, tzinfo=TZ).astimezone(UTC)
    end_day = first + timedelta(days=days)
    end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=TZ).astimezone(UTC)
    with Storage.open(path, timezone="Europe/Paris") as st:
        writer = SampleWriter(st, WriterSettings(batch_cycles=5000, batch_seconds=1e9))
        while t < end:
            writer.add(t, values(t))
            t += timedelta(minutes=5)
        writer.close()
    return path


def household(t: datetime) -> dict[str, float]:
    return {"grid.p_import_w": 1200.0, "grid.p_export_w": 0.0}


def roof(t: datetime) -> dict[str, float]:
    local = t.astimezone(TZ)
    return {"grid.p_import_w": 0.0, "grid.p_export_w": 4000.0 if local.hour == 12 else 0.0}


def export(hems, db: Path, fmt: str, first: str, last: str, out: Path, *extra: str) -> Path:
    """``hems export`` of a box database, as a household would run it."""
    status, _, err = hems(
        "export", "--db", str(db), "--format", fmt, "--from", first, "--to", last, "--out", str(out), *extra
    )
    assert status == 0, err
    return out


@pytest.fixture(scope="module")
def boxes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("boxes")
    return box(root / "a.db", date(2025, 6, 1), 30, household), box(
        root / "roof.db", date(2025, 6, 1), 30, roof
    )


def test_a_month_from_hems_export_espi_csv_and_a_box_database(boxes, tmp_path: Path, hems) -> None:
    home, plant = boxes
    export(hems, home, "espi", "2025-06-01", "2025-06-30", tmp_path / "a.xml")
    export(hems, home, "csv", "2025-06-01", "2025-06-30", tmp_path / "b.csv", "--channel", "grid.p_import_w")
    export(hems, plant, "espi", "2025-06-01", "2025-06-30", tmp_path / "roof.xml")
    c = Community(tmp_path)
    c.participants = [
        f'[[participant]]\nid = "a"\nrole = "consumer"\nconsumption = "a.xml"\n{FLAT}\n',
        f'[[participant]]\nid = "b"\nrole = "consumer"\nconsumption = "b.csv"\n{FLAT}\n',
        f'[[participant]]\nid = "c"\nrole = "consumer"\nconsumption = "{home}"\n{FLAT}\n',  # the box itself
        '[[participant]]\nid = "roof"\nrole = "producer"\ninjection = { path = "roof.xml" }\n',
        f'[[participant]]\nid = "roof-box"\nrole = "producer"\ninjection = "{plant}"\n',
    ]
    doc = bill_json(hems, c.write())
    assert doc["status"] == "billed", doc["conformity"]
    bills = {p["id"]: p for p in doc["participants"]}
    for pid in "abc":
        assert bills[pid]["consumption_wh"] == 30 * 96 * 300  # 1200 W for a quarter-hour = 300 Wh
    assert bills["roof"]["injection_wh"] == bills["roof-box"]["injection_wh"] == 30 * 4 * 1000
    # 2000 Wh a quarter-hour at noon against 900 Wh consumed: everyone is covered then
    assert bills["a"]["shared_wh"] == 30 * 4 * 300


def test_espi_day_block_of_the_wrong_length_is_a_dst_finding(tmp_path: Path, hems) -> None:
    db = box(tmp_path / "oct.db", date(2025, 10, 25), 3, household)
    out = tmp_path / "oct.xml"
    export(hems, db, "espi", "2025-10-25", "2025-10-27", out)
    text = out.read_text()
    assert "<espi:duration>90000</espi:duration>" in text  # the 25-hour day, as exported
    period = Period.month("2025-10", "Europe/Paris")
    good = parse_espi(text.encode(), "oct.xml", period.tz)
    assert good.problems == [] and len(good.readings) == 96 + 100 + 96
    bad = parse_espi(
        text.replace("<espi:duration>90000<", "<espi:duration>86400<").encode(), "oct.xml", period.tz
    )
    [(_, check, message)] = bad.problems
    assert check == "dst" and "2025-10-26 lasts 86400 s" in message and "100 quarter-hours" in message


def test_espi_without_the_wanted_direction_says_what_it_has(tmp_path: Path, hems, boxes) -> None:
    out = export(
        hems,
        boxes[0],
        "espi",
        "2025-06-01",
        "2025-06-02",
        tmp_path / "imp.xml",
        "--channel",
        "grid.p_import_w",
    )
    with pytest.raises(SourceError, match=r"no MeterReading with flowDirection 19 .*'grid\.p_import_w'"):
        parse_espi(out.read_bytes(), "imp.xml", "Europe/Paris", flow="reverse")
    with pytest.raises(SourceError, match="not well-formed XML"):
        parse_espi(b"<feed", "x.xml", "Europe/Paris")


def test_csv_formats_units_and_end_stamps() -> None:
    text = "Horodate;Valeur\n2025-06-01T00:15:00+02:00;0,3\n2025-06-01T00:30:00+02:00;0,25\n"
    raw = parse_csv(text, "enedis.csv", "Europe/Paris", column="valeur", unit="kwh", stamp="end")
    assert [(r.slot.isoformat(), r.wh) for r in raw.readings] == [
        ("2025-05-31T22:00:00+00:00", 300),
        ("2025-05-31T22:15:00+00:00", 250),
    ]
    raw = parse_csv("start,kwh\n2025-06-01T00:00:00Z,0.0125\n", "x.csv", "Europe/Paris")
    assert raw.readings[0].wh == 13  # half away from zero, once
    raw = parse_csv("time_utc,mean_w\n2025-06-01T00:00:00+00:00,250.5\n", "x.csv", "Europe/Paris")
    assert raw.readings[0].wh == 63  # 62.625 Wh
    hourly = parse_csv("start,wh\n2025-06-01T00:00:00Z,1\n2025-06-01T01:00:00Z,1\n", "h.csv", "Europe/Paris")
    assert "hourly values" in hourly.problems[0][2]
    with pytest.raises(SourceError, match="no value column"):
        parse_csv("start,power\n", "x.csv", "Europe/Paris")


def test_rounding_rule() -> None:
    assert to_wh("0.0005", "kwh") == 1 and to_wh("0.0004999", "kwh") == 0
    assert to_wh("-2.5", "wh") == -3  # halves away from zero
    with pytest.raises(ValueError):
        to_wh("nan", "wh")


def test_a_database_without_the_channel_is_a_source_error(boxes) -> None:
    from hems.commands.community import box_reader

    period = Period.month("2025-06", "Europe/Paris")
    with pytest.raises(SourceError, match=r"no channel 'pv\.p_w'"):
        read_source(boxes[0], "hems-db", period, "injection", channel="pv.p_w", box_reader=box_reader)
    raw = read_source(boxes[0], "hems-db", period, "consumption", box_reader=box_reader)
    assert len(raw.readings) == len(period) and {r.wh for r in raw.readings} == {300}
