"""Green Button (ESPI) and CSV export, checked against the ESPI schema's structure."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hems.reports.export import export_csv, export_espi, local_time_parameters
from hems.storage import Storage

TZ = ZoneInfo("Europe/Oslo")
A = "{http://www.w3.org/2005/Atom}"
E = "{http://naesb.org/espi}"

#: Element sequences of the ESPI schema (espi.xsd, NAESB REQ.21), in schema order.
SEQUENCES = {
    "UsagePoint": ["roleFlags", "ServiceCategory", "status", "serviceDeliveryPoint"],
    "ServiceCategory": ["kind"],
    "LocalTimeParameters": ["dstEndRule", "dstOffset", "dstStartRule", "tzOffset"],
    "MeterReading": [],
    "ReadingType": [
        "accumulationBehaviour",
        "commodity",
        "consumptionTier",
        "currency",
        "dataQualifier",
        "defaultQuality",
        "flowDirection",
        "intervalLength",
        "kind",
        "phase",
        "powerOfTenMultiplier",
        "timeAttribute",
        "tou",
        "uom",
        "cpp",
        "interharmonic",
        "measuringPeriod",
        "argument",
    ],
    "IntervalBlock": ["interval", "IntervalReading"],
    "interval": ["duration", "start"],
    "IntervalReading": ["cost", "ReadingQuality", "timePeriod", "value", "consumptionTier", "tou", "cpp"],
    "timePeriod": ["duration", "start"],
}
REQUIRED = {
    "UsagePoint": ["ServiceCategory"],
    "IntervalBlock": ["interval"],
    "timePeriod": ["duration", "start"],
}


def check_order(el: ET.Element) -> None:
    """Every ESPI element's children are ESPI elements in its schema sequence's order."""
    name = el.tag.removeprefix(E)
    assert el.tag.startswith(E), el.tag
    if name not in SEQUENCES:
        return
    order = SEQUENCES[name]
    seen = []
    for child in el:
        assert child.tag.startswith(E), f"{child.tag} in {name}: not in the ESPI namespace"
        child_name = child.tag.removeprefix(E)
        assert child_name in order, f"{child_name} is not an element of {name}"
        seen.append(order.index(child_name))
        check_order(child)
    assert seen == sorted(seen), f"children of {name} out of schema order"
    for required in REQUIRED.get(name, []):
        assert el.find(E + required) is not None, f"{name} lacks {required}"


def test_espi_feed_has_the_standard_structure_and_the_right_energy(month_db) -> None:
    path, written = month_db
    with Storage.open(path, readonly=True) as st:
        xml = export_espi(
            st,
            ["grid.p_import_w", "grid.p_export_w"],
            "15m",
            date(2026, 3, 28),
            date(2026, 3, 30),
            TZ,
            datetime(2026, 4, 1, tzinfo=UTC),
        )
    feed = ET.fromstring(xml)
    assert feed.tag == A + "feed"
    assert [c.tag for c in feed][:3] == [A + "id", A + "title", A + "updated"]
    resources: dict[str, list[tuple[ET.Element, ET.Element]]] = {}
    for entry in feed.findall(A + "entry"):
        tags = [c.tag.removeprefix(A) for c in entry]
        assert tags[0] == "id" and tags[-3:] == ["content", "published", "updated"]
        (resource,) = list(entry.find(A + "content"))
        check_order(resource)
        resources.setdefault(resource.tag.removeprefix(E), []).append((entry, resource))
    assert set(resources) == {
        "UsagePoint",
        "LocalTimeParameters",
        "MeterReading",
        "ReadingType",
        "IntervalBlock",
    }
    assert resources["UsagePoint"][0][1].findtext(f"{E}ServiceCategory/{E}kind") == "0"

    def links(entry: ET.Element, rel: str) -> list[str]:
        return [link.get("href", "") for link in entry.findall(A + "link") if link.get("rel") == rel]

    reading_types = {links(e, "self")[0]: r for e, r in resources["ReadingType"]}
    blocks_by_up: dict[str, list[ET.Element]] = {}
    for e, r in resources["IntervalBlock"]:
        blocks_by_up.setdefault(links(e, "up")[0], []).append(r)
    totals = {}
    for entry, _ in resources["MeterReading"]:
        related = links(entry, "related")
        rtype = next(reading_types[h] for h in related if h in reading_types)
        blocks = next(blocks_by_up[h] for h in related if h in blocks_by_up)
        assert rtype.findtext(E + "uom") == "72" and rtype.findtext(E + "intervalLength") == "900"
        assert len(blocks) == 3  # one per local day
        # 29 March 2026 is the DST day: 23 hours, 92 quarter-hours
        assert [len(b.findall(E + "IntervalReading")) for b in blocks] == [96, 92, 96]
        assert blocks[1].findtext(f"{E}interval/{E}duration") == str(23 * 3600)
        direction = rtype.findtext(E + "flowDirection")
        totals[direction] = sum(int(v.text or 0) for b in blocks for v in b.iter(E + "value"))
    first, last = date(2026, 3, 28), date(2026, 3, 30)
    in_range = [(t, v) for t, v in written if first <= t.astimezone(TZ).date() <= last]
    raw_import_wh = sum(v["grid.p_import_w"] * 300 / 3600 for _, v in in_range)
    raw_export_wh = sum(v["grid.p_export_w"] * 300 / 3600 for _, v in in_range)
    assert totals["1"] == pytest.approx(raw_import_wh, abs=0.5 * 284)
    assert totals["19"] == pytest.approx(raw_export_wh, abs=0.5 * 284)


def test_local_time_parameters_follow_the_eu_rule() -> None:
    ltp = local_time_parameters(TZ, 2026)
    assert ltp["tzOffset"] == "3600" and ltp["dstOffset"] == "3600"
    # last (7) Sunday (7) of March (3) at 02:00 / of October (10) at 03:00
    assert ltp["dstStartRule"] == "3E0E2000" and ltp["dstEndRule"] == "AE0E3000"
    assert local_time_parameters(ZoneInfo("UTC"), 2026)["dstOffset"] == "0"


def test_espi_refuses_what_it_cannot_express(month_db) -> None:
    path, _ = month_db
    with Storage.open(path, readonly=True) as st:
        with pytest.raises(ValueError, match="15m, 1h or 1d"):
            export_espi(
                st, ["grid.p_import_w"], "raw", date(2026, 3, 1), date(2026, 3, 1), TZ, datetime.now(UTC)
            )
        with pytest.raises(ValueError, match="not a power channel"):
            export_espi(st, ["grid.i_l1_a"], "1h", date(2026, 3, 1), date(2026, 3, 1), TZ, datetime.now(UTC))


def test_csv_export_matches_the_stored_series(month_db) -> None:
    path, _ = month_db
    start = datetime(2026, 3, 2, tzinfo=TZ).astimezone(UTC)
    end = datetime(2026, 3, 3, tzinfo=TZ).astimezone(UTC)
    with Storage.open(path, readonly=True) as st:
        text = export_csv(st, "circuit.ev.p_w", "1h", start, end, TZ)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["time_utc", "time_local", "mean_w", "min_w", "max_w", "n"]
    assert len(rows) == 24
    assert rows[1]["time_local"] == "2026-03-02T01:00:00+01:00" and float(rows[1]["mean_w"]) == 7000.0
    assert int(rows[1]["n"]) == 12


def test_csv_export_writes_the_measured_numbers_not_float_noise(tmp_path: Path) -> None:
    # Power is stored as float32: 5049.87 W came out as 5049.86962890625. Energy registers are
    # float64 and keep their decimals.
    from hems.storage import SampleWriter

    db = tmp_path / "hems.db"
    with Storage.open(db, timezone="Europe/Oslo") as st:
        writer = SampleWriter(st)
        t0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
        writer.add(t0, {"grid.p_import_w": 5049.87, "grid.e_import_kwh": 12345.678901, "grid.i_l1_a": 0.1})
        writer.close()
        rows = {}
        for ch in ("grid.p_import_w", "grid.e_import_kwh", "grid.i_l1_a"):
            text = export_csv(st, ch, "raw", t0, t0.replace(minute=1), TZ)
            rows[ch] = next(csv.DictReader(io.StringIO(text)))
    assert rows["grid.p_import_w"]["mean_w"] == "5049.87" and rows["grid.p_import_w"]["max_w"] == "5049.87"
    assert rows["grid.e_import_kwh"]["mean_kwh"] == "12345.678901"
    assert rows["grid.i_l1_a"]["mean_a"] == "0.1"
