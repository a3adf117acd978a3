"""`hems evaluate`: a day you can check by hand, the oracle never beaten, the same work done by every
strategy, and databases that `hems report` reads like a household's."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from devices.appliances.device import Need
from devices.simulated.behaviour import DISHWASHER
from hems.config import parse_config
from hems.evaluate import evaluate
from hems.evaluate.boxes import solve_oracle
from hems.evaluate.metrics import result, share_of_oracle_savings
from hems.evaluate.run import run_strategy
from hems.evaluate.world import PeriodBehaviour, World, build_world
from hems.twin import twin_config
from tariffs.household import household_tariff
from tariffs.pricesim import SimulatedMarket
from tariffs.series import PriceSeries, day_slots

ROOT = Path(__file__).resolve().parents[2]
OSLO = ZoneInfo("Europe/Oslo")
DAY = date(2026, 1, 15)
DEAR, CHEAP = 2.0, 0.5


def local(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, 15, hour, minute, tzinfo=OSLO).astimezone(UTC)


class TwoPrices(SimulatedMarket):
    """A market whose spot price is DEAR all day but CHEAP 21:00–23:00 (published like any other)."""

    def day(self, day: date) -> PriceSeries:
        slots = day_slots(day, self.tz, 15)
        values = [CHEAP if local(21) <= t < local(23) and day == DAY else DEAR for t in slots]
        return PriceSeries(slots[0], 15, tuple(values), "NOK")


class OneDishwasher(PeriodBehaviour):
    def needs(self, day: date) -> list[Need]:
        if day != DAY:
            return []
        return [
            Need(
                "dishwasher",
                "dw",
                "shiftable",
                local(18),
                local(23, 45),
                local(18),
                DISHWASHER,
            )
        ]


def hand_world() -> World:
    """One day, an empty house (no base load, no PV), one dishwasher, two price levels, and a tariff
    that is the spot price alone (no grid part, taxes, support, VAT or fees)."""
    cfg, _ = twin_config(
        parse_config(
            {
                "site": {"main_fuse_a": 25},
                "pv": {"array": []},
                "tariff": {"support_scheme": "none", "vat_rate": 0.0, "energy_tax_per_kwh": 0.0},
            }
        )
    )
    cfg = cfg.model_copy(update={"tariff": cfg.tariff.model_copy(update={"grid_company": None})})
    world = build_world(cfg, DAY, 1, 1, "NO1")
    world.tariff = household_tariff(cfg.tariff, tz="Europe/Oslo")
    world.market = TwoPrices("NO1", 1, "Europe/Oslo")
    world.behaviour = OneDishwasher(1, "Europe/Oslo", world.start, world.end)
    world.needs = world.behaviour.needs(DAY)
    for key in world.base_w:
        world.base_w[key] = np.zeros_like(world.base_w[key])
    world.base_total_w = np.zeros_like(world.base_total_w)
    world.pv_w = np.zeros_like(world.pv_w)
    world.line_phasor = {ln: np.zeros_like(p) for ln, p in world.line_phasor.items()}
    return world


def test_one_dishwasher_two_prices_what_each_strategy_pays() -> None:
    world = hand_world()
    program_kwh = (20 * 2000 + 40 * 90 + 15 * 1900 + 25 * 60) / 60_000  # 1.2267 kWh in 100 min
    day_cost_1w = 0.001 * (22 * DEAR + 2 * CHEAP)  # 1 W all day: the idle washer (and dishwasher)

    def pays(price: float) -> float:  # the program at one price; the dishwasher idles the rest
        return program_kwh * price + day_cost_1w + (day_cost_1w - 0.001 * 100 / 60 * price)

    # none: the household starts it at 18:00 (dear); the others: inside 21:00–23:00 (cheap)
    expected = {"none": pays(DEAR), "rule": pays(CHEAP), "hems": pays(CHEAP), "oracle": pays(CHEAP)}
    used_kwh = program_kwh + 0.001 * 24 + 0.001 * (24 - 100 / 60)
    plan, _ = solve_oracle(world)
    results = {}
    for name in expected:
        outcome = asyncio.run(run_strategy(world, name, None, plan))
        results[name] = r = result(world, outcome)
        assert r.bill.total == pytest.approx(expected[name], abs=1e-3), name
        assert r.import_kwh == pytest.approx(used_kwh, abs=1e-4)
        assert (r.runs_requested, r.runs_completed, r.deadlines_missed) == (1, 1, 0)
    assert share_of_oracle_savings(results) == pytest.approx(1.0, abs=1e-4)


@pytest.fixture(scope="module")
def three_seeds() -> list[dict[str, Any]]:
    cfg = parse_config({"site": {"main_fuse_a": 25}, "tariff": {"grid_company": "Elvia"}})
    return [evaluate(cfg, date(2026, 1, 12), 3, seed=seed, zone="NO1")[0] for seed in (1, 2, 3)]


def test_the_oracle_is_never_beaten(three_seeds: list[dict[str, Any]]) -> None:
    for doc in three_seeds:
        s = doc["strategies"]
        best = s["oracle"]["bill"]["total"]
        for name in ("none", "rule", "hems"):
            assert s[name]["bill"]["total"] >= best - 0.01, (doc["period"]["seed"], name)


def test_every_strategy_does_the_same_work(three_seeds: list[dict[str, Any]]) -> None:
    for doc in three_seeds:
        s = doc["strategies"]
        asked = {v["appliance_kwh_requested"] for v in s.values()}
        done = {v["appliance_kwh_delivered"] for v in s.values()}
        assert len(asked) == 1 and len(done) == 1 and asked == done, doc["period"]
        for name, v in s.items():
            assert v["runs_completed"] == v["runs_requested"] > 0, name
            assert v["deadlines_missed"] == 0, name


def test_the_json_is_the_contract(three_seeds: list[dict[str, Any]]) -> None:
    doc = three_seeds[0]
    assert set(doc) >= {"period", "strategies", "hems_share_of_oracle_savings"}
    assert doc["period"] == {"start": "2026-01-12", "days": 3, "zone": "NO1", "seed": 1}
    assert list(doc["strategies"]) == ["none", "rule", "hems", "oracle"]
    keys = {
        "bill",
        "import_kwh",
        "export_kwh",
        "capacity_basis_kw",
        "pv_self_consumption_share",
        "appliance_kwh_requested",
        "appliance_kwh_delivered",
        "runs_requested",
        "runs_completed",
        "deadlines_missed",
        "overload_events",
    }
    for v in doc["strategies"].values():
        assert set(v) == keys
        assert set(v["bill"]) == {"energy", "capacity", "fixed", "total", "currency"}
        assert v["bill"]["currency"] == "NOK"
        assert v["bill"]["total"] == pytest.approx(
            v["bill"]["energy"] + v["bill"]["capacity"] + v["bill"]["fixed"], abs=0.02
        )


def test_evaluation_databases_are_read_by_hems_report_and_export(tmp_path: Path) -> None:
    out = tmp_path / "dbs"
    cmd = [sys.executable, "-m", "hems", "evaluate", "--start", "2026-01-20", "--days", "1"]
    run = subprocess.run(
        [*cmd, "--strategies", "none,hems", "--db-dir", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["hems_share_of_oracle_savings"] is None  # no oracle asked for
    for name in ("none", "hems"):
        report = subprocess.run(
            [
                sys.executable,
                "-m",
                "hems",
                "report",
                "--db",
                str(out / f"{name}.db"),
                "--period",
                "day",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert report.returncode == 0, report.stderr
        got = json.loads(report.stdout)
        assert got["first_day"] == "2026-01-20" and got["coverage"] == 1.0
        assert got["house"]["import_kwh"] == pytest.approx(doc["strategies"][name]["import_kwh"], abs=0.05)
    csv = tmp_path / "hems.csv"
    args = ["export", "--db", str(out / "hems.db"), "--format", "csv", "--channel", "grid.p_import_w"]
    export = subprocess.run(
        [
            sys.executable,
            "-m",
            "hems",
            *args,
            "--from",
            "2026-01-20",
            "--to",
            "2026-01-20",
            "--out",
            str(csv),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert export.returncode == 0, export.stderr
    rows = csv.read_text().splitlines()[1:]
    assert len(rows) == 96  # every quarter-hour of the day
    kwh = sum(float(r.split(",")[2]) for r in rows) * 0.25 / 1000
    assert kwh == pytest.approx(doc["strategies"]["hems"]["import_kwh"], abs=0.05)


def test_bad_arguments_are_one_clear_line() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "hems",
            "evaluate",
            "--start",
            "2026-01-01",
            "--days",
            "3",
            "--strategies",
            "best",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.strip().startswith("hems: error: --strategies: expected a comma-separated list")


@pytest.mark.scale
def test_a_july_month_with_a_battery_stays_in_the_oracles_capacity_step() -> None:
    # the loop issue's July case (bench/evaluate.py): 8 kWp, a 10 kWh battery, the EV, 30 days. The
    # box cannot know the month's days to come; it must still not let the month creep into a higher
    # capacity step than perfect foresight needs (it did: 5–10 kW against the oracle's 2–5 kW)
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_evaluate", ROOT / "bench" / "evaluate.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    first, doc_cfg = bench.CASES["july"]
    doc, _ = evaluate(parse_config(doc_cfg), first, 30, seed=1, strategies=("hems", "oracle"))
    hems, oracle = doc["strategies"]["hems"], doc["strategies"]["oracle"]
    assert hems["bill"]["capacity"] <= oracle["bill"]["capacity"] + 1e-6
    assert hems["deadlines_missed"] == 0
    assert hems["appliance_kwh_delivered"] == pytest.approx(oracle["appliance_kwh_delivered"], abs=0.01)
    # the bound plans to leave the battery as it found it (half full), not sold off on the last
    # evening; the battery follows the plan's grid exchange, not its charge, so it lands near (4.8)
    assert oracle["battery_kwh_end"] >= 4.5
