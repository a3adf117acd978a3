"""Raw telemetry (`[telemetry] resolution = "raw"`): every 10-s sample of a day in one batch, per
phase, nothing identifying (issue 17)."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hems.cli import main
from hems.config import parse_config
from hems.storage import SampleWriter, Storage, WriterSettings
from hems.telemetry import deidentify_site
from hems.telemetry.batch import build_batch, encode
from wire.telemetry import parse_batch

TZ = ZoneInfo("Europe/Oslo")
METER_ID = "7359992890123456"
HID = "h-" + "a" * 26


def _values(t: datetime, i: int) -> dict[str, float]:
    return {
        "grid.p_import_w": 1000.0 + (i % 37) * 10,
        "grid.p_export_w": 0.0,
        "grid.i_l1_a": 4.0 + (i % 5) * 0.25,
        "grid.i_l2_a": 3.5,
        "grid.i_l3_a": 2.25,
        "grid.u_l1_v": 231.0 + (i % 3) * 0.5,
        "grid.u_l2_v": 230.0,
        "grid.u_l3_v": 229.5,
        "grid.e_import_kwh": 12345.678 + i / 1000,  # a register: never sent
        "grid.q_import_var": 50.0,  # not asked for
        "circuit.kitchen.p_w": 300.0,
        "circuit.kitchen.i_a": 1.3,
    }


def _day_db(path: Path, day: date, skip_every: int = 0) -> int:
    start = datetime(day.year, day.month, day.day, tzinfo=TZ).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), TZ).astimezone(UTC)
    n = 0
    with Storage.open(path, timezone="Europe/Oslo") as st:
        st.put_doc("meter", {"meter_id": METER_ID, "meter_type": "Aidon"})
        w = SampleWriter(st, WriterSettings(batch_cycles=5000, batch_seconds=1e9))
        t, i = start, 0
        while t < end:
            if not (skip_every and i % skip_every == 0):
                w.add(t, _values(t, i))
                n += 1
            t += timedelta(seconds=10)
            i += 1
        w.close()
    return n


def _config(**telemetry: object):
    return parse_config(
        {
            "site": {"postcode": "1081", "timezone": "Europe/Oslo"},
            "contact": {"name": "Kari Nordmann", "address": "Storgata 17, 1081 Oslo"},
            "telemetry": {"resolution": "raw", **telemetry},
        }
    )


@pytest.mark.parametrize(("day", "slots"), [(date(2026, 3, 2), 8640), (date(2026, 3, 29), 8280)])
def test_a_raw_batch_holds_every_10_s_sample_per_phase(tmp_path: Path, day: date, slots: int) -> None:
    db = tmp_path / "raw.db"
    _day_db(db, day, skip_every=97)  # a few cycles missing: null, not zero
    cfg = _config()
    with Storage.open(db, readonly=True) as st:
        batch = build_batch(st, day, household_id=HID, site=deidentify_site(cfg.site), config=cfg.telemetry)
    assert batch["interval"]["resolution_seconds"] == 10 and batch["interval"]["slots"] == slots
    assert "resolution_minutes" not in batch["interval"]
    readings = batch["readings"]
    assert {"grid.i_l1_a", "grid.i_l2_a", "grid.i_l3_a", "grid.u_l1_v", "grid.u_l2_v", "grid.u_l3_v"} <= set(
        readings
    )
    assert "grid.e_import_kwh" not in readings and "grid.q_import_var" not in readings
    assert all(len(v) == slots for v in readings.values())
    # exactly what was stored, slot by slot (i_a to 0.01 A, the rest to 0.1)
    assert readings["grid.i_l1_a"][1] == 4.25 and readings["grid.u_l1_v"][2] == 232.0
    assert readings["grid.p_import_w"][0] is None and readings["grid.p_import_w"][1] == 1010.0
    missing = sum(v is None for v in readings["grid.p_import_w"])
    assert missing == math.ceil(slots / 97)
    assert parse_batch(batch).slots == slots  # the one definition both sides check with


def test_a_raw_batch_is_small_and_holds_nothing_identifying(tmp_path: Path) -> None:
    db = tmp_path / "raw.db"
    _day_db(db, date(2026, 3, 2))
    cfg = _config()
    with Storage.open(db, readonly=True) as st:
        batch = build_batch(
            st, date(2026, 3, 2), household_id=HID, site=deidentify_site(cfg.site), config=cfg.telemetry
        )
    body = encode(batch)
    assert len(body) < 1_000_000
    text = json.dumps(batch)
    for secret in (METER_ID, "Kari", "Storgata", "1081"):
        assert secret not in text


def test_raw_channels_can_still_be_chosen(tmp_path: Path) -> None:
    cfg = _config(channels=["grid.p_import_w"])
    assert cfg.telemetry.channels == ["grid.p_import_w"]
    assert "grid.u_l*_v" in _config().telemetry.channels


def test_the_raw_preview_is_what_the_server_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "raw.db"
    _day_db(db, date(2026, 3, 2))
    cfg = tmp_path / "hems.toml"
    cfg.write_text(
        '[site]\npostcode = "1081"\n[telemetry]\nconsent = true\nresolution = "raw"\n', encoding="utf-8"
    )
    assert (
        main(
            ["telemetry", "preview", "--config", str(cfg), "--db", str(db), "--date", "2026-03-02", "--json"]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    parsed = parse_batch(doc)  # the one definition: what the box would send, the server accepts
    assert parsed.resolution_s == 10 and parsed.slots == 8640 and "grid.u_l1_v" in parsed.readings
