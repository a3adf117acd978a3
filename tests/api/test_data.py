"""What the API answers, checked against the storage read API and the optimiser's real plan."""

from __future__ import annotations

import json
import threading
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from conftest import NOW, Box, state_doc

from hems.storage import Storage
from hems.storage.channels import as_stored

ESPI = "{http://naesb.org/espi}"


def test_live_state_has_power_cost_per_hour_and_fuse_load(box: Box) -> None:
    with box.client(box.token("display")) as c:
        doc = c.get("/api/v1/live").json()
    now = doc["now"]
    assert now["import_w"] == 2450.0 and now["net_w"] == 2450.0
    assert now["cost_per_hour"] == round(2.45 * 1.5, 4)  # kW x price of the running quarter-hour
    assert now["currency"] == "NOK"
    assert "capacity part is not included" in now["cost_note"]
    lines = {x["line"]: x for x in now["fuse"]["lines"]}
    assert lines["L3"]["load"] == 0.8 and now["fuse"]["max_load"] == 0.8  # 20 A on a 25 A main fuse
    kitchen = next(x for x in now["circuits"] if x["id"] == "kitchen")
    assert kitchen["name"] == "Kitchen" and kitchen["load"] == round(6.5 / 16, 4)
    assert now["missing"] == ["pv-inverter"]
    assert now["age_s"] == 0.0 and now["stale"] is False
    assert now["capacity"]["step_upper_kw"] == 5.0


def test_the_stream_sends_each_new_state(box: Box) -> None:
    events: list[dict] = []

    def listen() -> None:
        with box.client(box.token("display")) as c, c.stream("GET", "/api/v1/live/stream") as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    if len(events) == 2:
                        return

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    deadline = time.monotonic() + 10
    while not events and time.monotonic() < deadline:
        time.sleep(0.05)
    later = state_doc(box.cfg, NOW + timedelta(seconds=10))
    later["grid"]["p_import_w"] = 3100.0
    tmp = box.state.with_name("state.json.tmp")
    tmp.write_text(json.dumps(later))
    tmp.replace(box.state)  # as the daemon does, atomically
    reader.join(10)
    assert [e["now"]["import_w"] for e in events] == [2450.0, 3100.0]


def test_series_at_every_resolution_equals_the_storage_read_api(box: Box) -> None:
    start, end = NOW - timedelta(hours=6), NOW
    with Storage.open(box.db, readonly=True) as st, box.client(box.token("member")) as c:
        for res in ("raw", "1m", "15m", "1h", "1d"):
            params = {
                "channel": "grid.p_import_w",
                "resolution": res,
                "start": start.isoformat(),
                "end": end.isoformat(),
            }
            got = c.get("/api/v1/series", params=params).json()
            want = st.series("grid.p_import_w", start, end, res)
            assert [p["time"] for p in got["points"]] == [p.time.isoformat() for p in want], res
            assert [p["mean"] for p in got["points"]] == [as_stored(p.mean, "grid.p_import_w") for p in want]
            assert got["unit"] == "w"
        csv = c.get("/api/v1/series", params={**params, "resolution": "1h", "format": "csv"}).text
        assert csv.splitlines()[0] == "time_utc,time_local,mean_w,min_w,max_w,n"
        assert len(csv.splitlines()) == 1 + len(st.series("grid.p_import_w", start, end, "1h"))


def test_series_requests_the_data_cannot_answer_are_one_clear_line(box: Box) -> None:
    with box.client(box.token("member")) as c:
        r = c.get("/api/v1/series", params={"channel": "grid.nope_w"})
        assert r.status_code == 404 and "GET /api/v1/channels" in r.json()["detail"]
        r = c.get("/api/v1/series", params={"channel": "grid.p_import_w", "resolution": "5m"})
        assert r.status_code == 422
        old = (NOW - timedelta(days=30)).isoformat()
        r = c.get("/api/v1/series", params={"channel": "grid.p_import_w", "resolution": "raw", "start": old})
        assert r.status_code == 400 and "coarser resolution" in r.json()["detail"]
        r = c.get("/api/v1/series", params={"channel": "grid.p_import_w", "start": "2026-01-15T00:00:00"})
        assert r.status_code == 400 and "UTC offset" in r.json()["detail"]


def test_espi_feed_holds_exactly_the_last_48_hours(box: Box) -> None:
    with box.client(box.token("member")) as c:
        r = c.get("/api/v1/espi")
    assert r.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(r.content)
    readings = feed.iter(f"{ESPI}IntervalReading")
    starts = sorted(int(x.find(f"{ESPI}timePeriod/{ESPI}start").text) for x in readings)  # type: ignore[union-attr]
    end = datetime(2026, 1, 15, 20, 0, tzinfo=UTC)  # NOW floored to the quarter-hour
    # grid import has a reading in every quarter-hour; export only where PV exceeded the load
    assert starts[-1] == int((end - timedelta(minutes=15)).timestamp())
    assert min(starts) == int((end - timedelta(hours=48)).timestamp())
    imports = [
        int(ir.find(f"{ESPI}value").text)  # type: ignore[union-attr, arg-type]
        for block in feed.iter(f"{ESPI}IntervalBlock")
        for ir in block.iter(f"{ESPI}IntervalReading")
    ]
    with Storage.open(box.db, readonly=True) as st:
        pts = st.series("grid.p_import_w", end - timedelta(hours=48), end, "15m")
        pts += st.series("grid.p_export_w", end - timedelta(hours=48), end, "15m")
    assert sorted(imports) == sorted(round(p.mean * 0.25) for p in pts)


def test_plan_and_why_from_the_optimisers_real_plan(box: Box) -> None:
    with box.client(box.token("member")) as c:
        plan = c.get("/api/v1/plan").json()
    assert plan["status"] == "optimal"
    runs = {r["appliance"]: r for r in plan["runs"]}
    assert set(runs) == {"dishwasher", "washing_machine", "dryer", "ev", "water_heater"}
    dish = runs["dishwasher"]
    assert datetime.fromisoformat(dish["start"]) == datetime(2026, 1, 15, 20, 45, tzinfo=UTC)  # 21:45 local
    assert dish["why"].startswith("starts 21:45") and "would cost 3.00" in dish["why"]
    assert dish["energy_kwh"] == round(sum([1.9, 1.9, 0.2, 0.2, 0.2, 0.2, 1.8, 1.8]) * 0.25, 3)
    assert any(n.startswith("capacity 2026-01") for n in plan["notes"])
    assert len(plan["slots"]) == len(plan["import_price_per_kwh"]) == 96


def test_alerts_now_and_logged(box: Box) -> None:
    with box.client(box.token("member")) as c:
        a = c.get("/api/v1/alerts", params={"hours": 6}).json()
    assert [x["message"] for x in a["active"]] == ["heading for 6.2 kWh"]
    assert [(e["kind"], e["level"]) for e in a["events"]] == [
        ("alert.capacity", "warning"),
        ("control.shed", "info"),
    ]


def test_month_has_peaks_capacity_step_and_cost(box: Box) -> None:
    with box.client(box.token("member")) as c:
        m = c.get("/api/v1/month").json()
        report = c.get("/api/v1/reports/month").json()
    assert m["month"] == "2026-01"
    assert len(m["peak_hours"]) == 3
    basis = m["capacity_basis_kw"]
    assert basis == report["capacity_basis_kw"]
    assert basis == round(sum(p["import_kwh"] for p in m["peak_hours"]) / 3, 4)
    assert m["steps"][0]["upper_kw"] == 2 and m["steps"][-1]["upper_kw"] is None  # Elvia's table
    step = m["step"]
    assert step["upper_kw"] is not None and basis <= step["upper_kw"]
    assert step["headroom_kw"] == round(step["upper_kw"] - basis, 3)
    assert m["cost"]["currency"] == "NOK" and m["cost"]["total"] > 0
    assert m["cost"]["months"][0]["capacity_step"] is not None
