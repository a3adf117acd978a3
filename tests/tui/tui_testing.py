"""A canned `DataSource`, a frozen instant and helpers to read what the dashboard shows."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from hems.clock import ManualClock
from tui.source import EventRow, SeriesPoint, SourceUnavailable

NOW = datetime(2026, 1, 15, 12, 0, 5, tzinfo=UTC)  # 13:00:05 in Oslo
RES = {
    "raw": timedelta(seconds=10),
    "1m": timedelta(minutes=1),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
}


def state_doc(time: datetime = NOW) -> dict[str, Any]:
    return {
        "time": time.isoformat(),
        "grid": {
            "p_import_w": 2345.0,
            "p_export_w": 0.0,
            "i_l1_a": 12.3,
            "i_l2_a": 8.1,
            "i_l3_a": 23.4,
            "u_l1_v": 231.0,
            "e_import_kwh": 12345.6,
            "meter_id": "7359992890941742",
        },
        "circuits": {
            "kitchen": {"p_w": 2100.0, "i_a": 9.8, "u_v": 230.0, "e_import_kwh": 812.4},
            "ev": {"p_w": 0.0, "i_a": 0.0, "i_l1_a": 0.0, "i_l2_a": 0.0, "i_l3_a": 0.0},
            "heatpump": {"p_w": 1420.0, "i_a": 18.7},
        },
        "pv": {"p_w": 1200.0},
        "appliances": {"dishwasher": {"online": True, "running": True, "p_w": 1900.0}},
        "errors": {},
        "site": {
            "id": "home",
            "main_fuse_a": 25,
            "network": "TN",
            "voltage_v": 230,
            "timezone": "Europe/Oslo",
        },
        "circuit_info": {
            "kitchen": {"name": "Kitchen", "line": "L1", "breaker_a": 16, "curve": "B"},
            "ev": {"name": "EV charger", "line": "3P", "breaker_a": 32, "curve": "C"},
            "heatpump": {"name": "Heat pump", "line": "L3", "breaker_a": 20, "curve": "C"},
        },
        "price": {"import_per_kwh": 1.234, "export_per_kwh": 0.456, "band": "high"},
        "capacity": {
            "hour_start": "2026-01-15T12:00:00+00:00",
            "hour_kwh_so_far": 0.04,
            "projected_kw": 4.6,
            "step_upper_kw": 5.0,
            "step_price": 250,
        },
        "alerts": [
            {
                "time": "2026-01-15T11:58:00+00:00",
                "level": "warning",
                "kind": "overload",
                "message": "Heat pump at 94 % of its 20 A breaker",
            }
        ],
    }


def plan_doc() -> dict[str, Any]:
    start = datetime(2026, 1, 14, 23, 0, tzinfo=UTC)  # local midnight
    slots = [start + timedelta(minutes=15 * i) for i in range(96)]
    price = [0.8 + (0.9 if 28 <= i < 40 or 68 <= i < 80 else 0.0) for i in range(96)]
    pv = [max(0.0, 3.0 - abs(i - 50) * 0.15) for i in range(96)]
    dish = [0.0] * 96
    dish[88:92] = [1.9, 0.2, 0.2, 1.8]
    return {
        "status": "optimal",
        "objective": 41.27,
        "energy_cost": 29.27,
        "capacity_cost": 12.0,
        "mip_gap": 0.0,
        "solve_seconds": 0.31,
        "slots": [s.isoformat() for s in slots],
        "grid": {"import_kw": [1.0] * 96, "export_kw": [0.0] * 96},
        "appliances": {
            "dishwasher": {
                "start": slots[88].isoformat(),
                "power_kw": dish,
                "explanation": "cheapest 1 h window before 00:00 (0.80/kWh)",
            },
        },
        "battery": None,
        "relaxed": [],
        "import_price_per_kwh": price,
        "pv_kw": pv,
    }


class CannedSource:
    """Known numbers: constant power per channel at every stored slot before ``now``."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.state: dict[str, Any] | None = state_doc()
        self.power = {
            "grid.p_import_w": 1000.0,
            "grid.p_export_w": 200.0,
            "pv.p_w": 500.0,
            "circuit.kitchen.p_w": 400.0,
            "circuit.heatpump.p_w": 1500.0,
            "price.import_per_kwh": 1.5,
            "price.export_per_kwh": 0.5,
        }
        self.docs: dict[str, Any] = {"plan": plan_doc(), "pv_forecast": None}
        self.event_log = [
            EventRow(
                datetime(2026, 1, 15, 11, 58, tzinfo=UTC),
                "alert",
                "warning",
                "Heat pump at 94 % of its 20 A breaker",
            ),
            EventRow(
                datetime(2026, 1, 15, 11, 58, 10, tzinfo=UTC),
                "action",
                "info",
                "Paused EV charger for 15 min",
            ),
        ]
        self.db_ok = True
        self.reads = 0

    def read_state(self) -> dict[str, Any] | None:
        self.reads += 1
        return copy.deepcopy(self.state)

    def _check(self) -> None:
        if not self.db_ok:
            raise SourceUnavailable("test.db: database is locked")

    def series(self, channel: str, start: datetime, end: datetime, resolution: str) -> list[SeriesPoint]:
        self._check()
        if channel not in self.power:
            return []
        step, out, t = RES[resolution], [], start.astimezone(UTC)
        while t < min(end, self.clock.now()):
            out.append(SeriesPoint(t, self.power[channel]))
            t += step
        return out

    def get_doc(self, key: str) -> Any:
        self._check()
        return copy.deepcopy(self.docs.get(key))

    def events(self, start: datetime, end: datetime, kind: str | None = None) -> list[EventRow]:
        self._check()
        return [e for e in self.event_log if start <= e.time < end and kind in (None, e.kind)]


def plain(widget: Any) -> str:
    rendered = widget.content if isinstance(widget, Static) else widget.render()
    return rendered.plain if hasattr(rendered, "plain") else str(rendered)


def screen_text(app: Any) -> str:
    """The text of every drawn widget on the visible screen, runs of spaces squashed."""
    from tui.screens.base import StatusBar
    from tui.widgets import BarChart, Gauge, Timeline

    kinds = (Static, Gauge, BarChart, Timeline, StatusBar)
    text = "\n".join(plain(w) for w in app.screen.query("*") if isinstance(w, kinds))
    return "\n".join(" ".join(line.split()) for line in text.splitlines())  # spacing is the snapshots' job


async def settle(pilot: Pilot[Any]) -> None:
    """Let every worker finish and every posted message be handled."""
    app = pilot.app
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()
