"""Non-finite and impossible readings (issue 15 item 3): refused at the decoder, again before
storage, and one bad day never blocks telemetry's next."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from devices.han.decode import MeterReading, parse_frame
from devices.han.errors import FrameError
from hems.cli import main
from hems.storage import SampleWriter, Storage, WriterSettings

TZ = ZoneInfo("Europe/Oslo")

#: a DSMR 3 telegram (no CRC line) whose values are spelled as Python would read them, not as P1 does
HOSTILE_P1 = (
    b"/ISk5\\2MT382-1000\r\n\r\n"
    b"1-0:1.8.1(nan*kWh)\r\n"
    b"1-0:1.8.2(00100.000*kWh)\r\n"
    b"1-0:1.7.0(inf*kW)\r\n"
    b"1-0:2.7.0(1e999*kW)\r\n"
    b"1-0:32.7.0(1_000*V)\r\n"
    b"1-0:31.7.0(004*A)\r\n"
    b"!\r\n"
)


def test_p1_numbers_are_digits_and_a_point_only() -> None:
    fields = parse_frame(HOSTILE_P1).fields
    assert "e_import_t1_kwh" not in fields and "p_import_w" not in fields
    assert "p_export_w" not in fields and "u_l1_v" not in fields
    assert fields["e_import_t2_kwh"] == 100.0 and fields["i_l1_a"] == 4.0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("p_import_w", math.inf),
        ("u_l1_v", -math.inf),
        ("i_l2_a", math.nan),
        ("p_import_w", 1e300),
        ("e_import_kwh", -5.0),
        ("u_l1_v", 40_000.0),
        ("freq_hz", 1e9),
    ],
)
def test_a_frame_with_an_impossible_value_is_refused_whole(key: str, value: float) -> None:
    with pytest.raises(FrameError) as caught:
        MeterReading(protocol="han", fields={"p_export_w": 0.0, key: value}, raw=b"")
    assert caught.value.reason == "implausible_value" and key in caught.value.detail


def test_hems_decode_prints_json_for_a_hostile_telegram(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--hex", HOSTILE_P1.hex()]) == 0
    out = capsys.readouterr().out
    assert "Infinity" not in out and "NaN" not in out
    row = json.loads(out)
    assert row["e_import_t2_kwh"] == 100.0


def _day(writer: SampleWriter, day: date, power_w: float) -> None:
    t = datetime(day.year, day.month, day.day, tzinfo=TZ).astimezone(UTC)
    for i in range(24 * 12):
        writer.add(t + timedelta(minutes=5 * i), {"grid.p_import_w": power_w, "grid.e_import_kwh": 100.0 + i})


def test_storage_keeps_no_impossible_value_and_reports_stay_finite(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with Storage.open(path, timezone="Europe/Oslo") as st:
        w = SampleWriter(st, WriterSettings(batch_cycles=1000, batch_seconds=1e9))
        _day(w, date(2026, 3, 1), 1000.0)
        w.add(datetime(2026, 3, 2, 12, tzinfo=UTC), {"grid.p_import_w": math.inf, "grid.e_import_kwh": 1e999})
        w.close()
        assert w.implausible == {"grid.p_import_w": 1, "grid.e_import_kwh": 1}
        series = st.series(
            "grid.p_import_w", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC), "1h"
        )
        assert all(math.isfinite(p.mean) for p in series)
    assert main(["report", "--db", str(path), "--period", "day", "--date", "2026-03-02", "--json"]) == 0
