"""A real household API on a free loopback port: a database written through the storage API, a live
state file as the daemon writes it, the optimiser's real plan, and the server in its own thread."""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hems.api.context import ApiContext
from hems.api.server import ApiServer
from hems.config import HemsConfig, parse_config
from hems.snapshot import site_state
from hems.storage import SampleWriter, Storage, WriterSettings

ROOT = Path(__file__).parents[2]
NOW = datetime(2026, 1, 15, 20, 0, 5, tzinfo=UTC)  # 21:00:05 in Oslo
START = datetime(2026, 1, 12, 23, 0, tzinfo=UTC)  # local midnight, 2026-01-13
METER_ID = "7359992890941742"
SECRETS = {
    "meter id": METER_ID,
    "meter type": "6841131BN243101040",
    "telemetry token": "tel-Secret-4711-token",
    "mqtt password": "mqtt-Pa55word-xyz",
    "name": "Kari Nordmann",
    "email": "kari@example.org",
    "phone": "+47 912 34 567",
    "address": "Storgata 12, 0155 Oslo",
    "postcode": "0155",
}

CONFIG: dict[str, Any] = {
    "site": {"postcode": SECRETS["postcode"], "latitude": 59.91234, "longitude": 10.75432},
    "circuit": [
        {"id": "kitchen", "name": "Kitchen", "line": "L1", "breaker_a": 16},
        {"id": "heater", "name": "Heaters", "line": "L2", "breaker_a": 16},
    ],
    "tariff": {"grid_company": "Elvia", "bidding_zone": "NO1"},
    "appliance": [
        {"id": "dishwasher", "kind": "shiftable", "circuit": "kitchen"},
        {"id": "ev", "kind": "energy"},
    ],
    "mqtt": {"host": "localhost", "username": "hems", "password": SECRETS["mqtt password"]},
    "telemetry": {
        "consent": True,
        "endpoint": "https://research.example.org/v1",
        "token": SECRETS["telemetry token"],
    },
    "contact": {
        "name": SECRETS["name"],
        "email": SECRETS["email"],
        "phone": SECRETS["phone"],
        "address": SECRETS["address"],
    },
}


def power(t: datetime) -> dict[str, float]:
    """The test household's channel values at ``t`` [W, A]: a function of the local hour."""
    h = (t.hour + 1) % 24
    heater = 2000.0 if h < 7 or h >= 17 else 500.0
    kitchen = 1500.0 if h in (7, 17, 18) else 100.0
    pv = 1200.0 if 10 <= h < 14 else 0.0
    net = heater + kitchen + 300.0 - pv
    return {
        "grid.p_import_w": max(net, 0.0),
        "grid.p_export_w": max(-net, 0.0),
        "grid.i_l1_a": 10.0,
        "grid.i_l2_a": 5.0,
        "grid.i_l3_a": 20.0,
        "pv.p_w": pv,
        "circuit.kitchen.p_w": kitchen,
        "circuit.heater.p_w": heater,
        "price.import_per_kwh": 1.5 if 17 <= h < 20 else 0.9,
    }


def fill(path: Path, start: datetime, end: datetime, step_s: int = 60) -> None:
    with Storage.open(path, timezone="Europe/Oslo") as st:
        writer = SampleWriter(st, WriterSettings(batch_cycles=5000, batch_seconds=1e9))
        t = start
        while t < end:
            writer.add(t, power(t))
            t += timedelta(seconds=step_s)
        writer.close()
        st.put_doc("meter", {"meter_id": METER_ID, "meter_type": SECRETS["meter type"]}, start)
        st.log_event(
            NOW - timedelta(hours=2), "alert.capacity", "warning", "this hour is heading for 6.2 kWh"
        )
        st.log_event(NOW - timedelta(hours=1), "control.shed", "info", "paused ev for 10 min")
        st.put_doc("plan", real_plan(), NOW - timedelta(hours=20))


def real_plan() -> dict[str, Any]:
    """What the control loop stores: the optimiser's real plan of the example scenario."""
    from hems.control.scenario import plan_document
    from optimiser.plan import plan_scenario

    with open(ROOT / "examples/scenarios/norway_winter.toml", "rb") as f:
        scenario = tomllib.load(f)
    plan = plan_scenario(scenario)
    return plan_document(datetime(2026, 1, 14, 23, 0, tzinfo=UTC), plan, {}, {}, scenario)


def state_doc(cfg: HemsConfig, t: datetime = NOW) -> dict[str, Any]:
    v = power(t)
    return {
        "time": t.isoformat(),
        "grid": {
            "time": t.isoformat(),
            "p_import_w": 2450.0,
            "p_export_w": 0.0,
            "i_l1_a": 10.0,
            "i_l2_a": 5.0,
            "i_l3_a": 20.0,
            "meter_id": METER_ID,
            "meter_type": SECRETS["meter type"],
            "list_id": "AIDON_V0001",
        },
        "circuits": {
            "kitchen": {"p_w": v["circuit.kitchen.p_w"], "i_a": 6.5},
            "heater": {"p_w": 2000.0, "i_a": 8.7},
        },
        "pv": {"p_w": 0.0},
        "appliances": {"dishwasher": {"online": True, "running": False, "p_w": 0.0}},
        "errors": {"pv-inverter": "timeout after 8 s"},
        **site_state(cfg),
        "alerts": [
            {"time": t.isoformat(), "level": "warning", "kind": "capacity", "message": "heading for 6.2 kWh"}
        ],
        "price": {"import_per_kwh": 1.5, "export_per_kwh": 0.4, "band": "high"},
        "capacity": {
            "hour_start": "2026-01-15T20:00:00+00:00",
            "hour_kwh_so_far": 0.004,
            "projected_kw": 2.45,
            "step_upper_kw": 5.0,
            "step_price": 200,
        },
        "control": {"shed": ["ev"], "next_start": None, "starts": {}, "mqtt_connected": True},
    }


class WallClock:
    def __init__(self) -> None:
        self.t = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.t


@dataclass
class Box:
    server: ApiServer
    ctx: ApiContext
    cfg: HemsConfig
    state: Path
    db: Path
    wall: WallClock
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def token(self, role: str, appliance: str | None = None, **kw: Any) -> str:
        _, secret = self.ctx.tokens.add(role, f"test {role}", self.wall(), appliance=appliance, **kw)
        return secret

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10.0)


@pytest.fixture(scope="session")
def household_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("api-db") / "hems.db"
    fill(path, START, NOW)
    return path


def start_box(tmp: Path, db: Path, api: dict[str, Any]) -> Box:
    cfg = parse_config({**CONFIG, "storage": {"path": str(db)}, "api": api})
    assert cfg.api is not None
    state = tmp / "state.json"
    state.write_text(json.dumps(state_doc(cfg)))
    wall = WallClock()
    ctx = ApiContext(cfg, cfg.api, state, db, lambda: NOW, None, wall)
    server = ApiServer(ctx)
    server.start()
    return Box(server, ctx, cfg, state, db, wall)


@pytest.fixture
def box(tmp_path: Path, household_db: Path) -> Iterator[Box]:
    """The API over plain HTTP on 127.0.0.1 (a free port), its own token store per test."""
    b = start_box(
        tmp_path, household_db, {"host": "127.0.0.1", "port": 0, "tls": False, "dir": str(tmp_path / "api")}
    )
    try:
        yield b
    finally:
        b.server.stop()
