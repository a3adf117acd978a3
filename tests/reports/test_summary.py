"""Reports over a simulated month equal the raw data they summarise."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from hems.reports import build_report
from hems.storage import Storage

TZ = ZoneInfo("Europe/Oslo")


def raw_kwh(written, channel: str, first: date, last: date, step_s: int = 300) -> float:
    return sum(
        v.get(channel, 0.0) * step_s / 3.6e6 for t, v in written if first <= t.astimezone(TZ).date() <= last
    )


def test_month_totals_equal_the_raw_samples(month_db) -> None:
    path, written = month_db
    with Storage.open(path, readonly=True) as st:
        report = build_report(st, "month", date(2026, 3, 14), "Europe/Oslo")
    first, last = date(2026, 3, 1), date(2026, 3, 31)
    assert report.span.hours == 31 * 24 - 1  # DST starts 29 March
    assert report.coverage == 1.0
    assert report.import_kwh == pytest.approx(raw_kwh(written, "grid.p_import_w", first, last))
    assert report.export_kwh == pytest.approx(raw_kwh(written, "grid.p_export_w", first, last))
    assert report.pv_kwh == pytest.approx(raw_kwh(written, "pv.p_w", first, last))
    for circuit in ("heater", "kitchen", "ev"):
        expected = raw_kwh(written, f"circuit.{circuit}.p_w", first, last)
        assert report.flows.consumers[circuit].kwh == pytest.approx(expected)
    assert report.appliances["ev"].kwh == pytest.approx(raw_kwh(written, "appliance.ev.p_w", first, last))
    consumption = sum(raw_kwh(written, c, first, last) for c in ("grid.p_import_w", "pv.p_w")) - raw_kwh(
        written, "grid.p_export_w", first, last
    )
    assert report.consumption_kwh == pytest.approx(consumption)
    assert [d.day for d in report.days] == [date(2026, 3, d) for d in range(1, 32)]
    assert sum(d.import_kwh for d in report.days) == pytest.approx(report.import_kwh)


def test_peak_hours_are_the_three_largest_days(month_db) -> None:
    path, _ = month_db
    with Storage.open(path, readonly=True) as st:
        month = build_report(st, "month", date(2026, 3, 1), "Europe/Oslo")
        day = build_report(st, "day", date(2026, 3, 2), "Europe/Oslo")
    # EV days (even dates) import heater+ev+base = 8.8 kWh in the hours 01-03 local
    assert [p.kwh for p in month.peak_hours] == pytest.approx([8.8, 8.8, 8.8])
    assert len({p.start.astimezone(TZ).date() for p in month.peak_hours}) == 3
    assert month.peak_hours[0].start.astimezone(TZ) == datetime(2026, 3, 2, 1, tzinfo=TZ)
    assert month.capacity_basis_kw == pytest.approx(8.8)
    assert len(day.peak_hours) == 1 and day.peak_hours[0].kwh == pytest.approx(8.8)


def test_pv_covers_the_daytime_base_load(month_db) -> None:
    path, _ = month_db
    with Storage.open(path, readonly=True) as st:
        report = build_report(st, "day", date(2026, 3, 3), "Europe/Oslo")
    # PV 2 kW from 10 to 14 local: 4 h x 0.3 kW of base load is self-consumed, 4 h x 1.7 kW exported
    assert report.pv_kwh == pytest.approx(8.0)
    assert report.export_kwh == pytest.approx(6.8)
    assert report.pv_self_consumed_kwh == pytest.approx(1.2)
    assert report.flows.house.from_pv_kwh == pytest.approx(1.2)
    assert report.flows.other.from_pv_kwh == pytest.approx(1.2)  # base load is not on a circuit
    assert report.flows.consumers["heater"].from_pv_kwh == 0.0
    d = report.to_dict()
    assert d["house"]["pv_self_consumed_kwh"] == pytest.approx(1.2)
    assert d["circuits"]["kitchen"]["from_grid_kwh"] == pytest.approx(2.0)
