"""History (month) says how the household's month compares with similar homes, when the telemetry
job fetched a comparison ([telemetry] comparison = true), and why there is none when there is none."""

from __future__ import annotations

from typing import Any

from test_dashboard import make_app
from tui_testing import CannedSource, screen_text, settle

from hems.clock import ManualClock


def _figures(homes: int, median: float) -> dict[str, Any]:
    return {
        "homes": homes,
        "mean": median + 1,
        "p10": 15.0,
        "p25": 20.0,
        "p50": median,
        "p75": 30.0,
        "p90": 35.0,
    }


def _words(app: Any) -> str:
    return " ".join(screen_text(app).split())  # the sentence wraps in its panel


async def test_the_month_against_similar_homes(source: CannedSource, clock: ManualClock) -> None:
    source.docs["comparison.2026-01"] = {
        "comparison": {
            "schema": "hems-comparison/1",
            "prefix": "108x",
            "group": "fuse=25,heating=heat_pump,pv=0,ev=1",
            "month": "2026-01",
            "k": 5,
            "measure": "import_kwh",
            "monthly": _figures(41, 27.3),
            "daily": [],
        },
        "reason": None,
    }
    source.docs["comparison.2025-12"] = {"comparison": None, "reason": "fewer than 5 similar homes in 108x"}
    app = make_app(source, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("h", "v", "v")
        await settle(pilot)
        text = _words(app)
        assert "Month · January 2026" in text
        # 14 complete days at 1000 W: 24 kWh a day against their 27.3: 12.1 % less
        assert (
            "You used 12 % less than similar homes in 108x this month "
            "(41 homes; grid import, your 24.0 kWh a day against their median 27.3)."
        ) in text
        await pilot.press("left")
        await settle(pilot)
        text = _words(app)
        assert "No comparison in December 2025: fewer than 5 similar homes in 108x." in text
        await pilot.press("left")  # November: nothing fetched, nothing said
        await settle(pilot)
        assert "comparison" not in _words(app).lower() and "similar homes" not in _words(app)
