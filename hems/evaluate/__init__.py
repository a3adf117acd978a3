"""`hems evaluate`: the twin fast-forwarded over a period under several strategies, each facing the
same household, weather and prices (docs/evaluate.md).

- `world.World`: the period's inputs, computed once (base load, PV, prices, the household's needs);
- `run.Runner`: one strategy stepped from event to event — ``none`` (the appliances alone),
  ``rule`` (cheapest hours by spot price), ``hems`` (the real `hems.control.Control`, as the daemon
  runs it), ``oracle`` (the whole period planned with perfect foresight);
- `metrics.Result`: what each pays and does; `render`: the table and the PNG.

    doc, results = evaluate(cfg, first_day, days, seed=1, zone="NO1")
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hems.config import HemsConfig

STRATEGIES = ("none", "rule", "hems", "oracle")
#: the twin's appliances hems evaluate can put behind their real drivers: the water heater behind a
#: simulated Shelly on the in-process bus, the EV behind a simulated OCPP charge point on a websocket
EVALUATE_DRIVEN = ("water-heater", "ev", "battery")
#: what ``--drivers`` alone drives (the battery only when named: its loop runs every 10 s, see docs)
EVALUATE_DRIVEN_DEFAULT = ("water-heater", "ev")
MAX_ORACLE_SLOTS = 2976  #: the oracle's one MILP: 31 days of quarter-hours (the scenario allows 3000)

log = logging.getLogger(__name__)


def evaluate(
    cfg: HemsConfig,
    first: date,
    days: int,
    *,
    seed: int = 1,
    zone: str | None = None,
    strategies: tuple[str, ...] = STRATEGIES,
    db_dir: Path | None = None,
    parallel: bool = True,
    drivers: Collection[str] = (),
    heat_pump: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run ``strategies`` over ``days`` local days from ``first``; (the contract's JSON document, the
    `metrics.Result` per strategy). ``cfg`` is made ready for the twin (`hems.twin.twin_config`).
    With ``parallel`` the hems box runs in a second process beside the others (same inputs: the
    world is a function of the configuration, the period and the seed). ``drivers``: the twin's
    appliances the hems box drives through their real drivers (`EVALUATE_DRIVEN`; the other
    strategies speak the box's protocol to them, as before). ``heat_pump``: the house gets the
    twin's SG Ready heat pump (`hems.twin.with_heat_pump`) unless ``cfg`` configures one."""
    from hems.evaluate.boxes import solve_oracle
    from hems.evaluate.metrics import result, share_of_oracle_savings
    from hems.evaluate.run import run_strategy
    from hems.evaluate.world import build_world
    from hems.twin import battery_of, twin_config, with_heat_pump

    if "oracle" in strategies and days * 96 > MAX_ORACLE_SLOTS:
        raise ValueError(
            f"--days: the oracle plans at most {MAX_ORACLE_SLOTS // 96} days at once (one MILP); "
            "give fewer days or leave the oracle out"
        )
    if set(drivers) - set(EVALUATE_DRIVEN):
        raise ValueError(
            f"--drivers: hems evaluate can drive {list(EVALUATE_DRIVEN)} through their real drivers, "
            f"not {sorted(set(drivers) - set(EVALUATE_DRIVEN))}"
        )
    cfg, notes = twin_config(cfg, drivers=drivers)
    if heat_pump:
        cfg = with_heat_pump(cfg)
    pump_notes = heat_pump_notes(cfg)
    notes += pump_notes
    zone = zone or cfg.tariff.bidding_zone
    cfg = cfg.model_copy(
        update={"tariff": cfg.tariff.model_copy(update={"bidding_zone": zone}), "mqtt": None}
    )
    pool, pending = None, None
    if parallel and "hems" in strategies and len(strategies) > 1:
        # the hems box (the slowest) in a second process, the others here: the machine has 2 cores
        import concurrent.futures
        import multiprocessing

        from lifeline import die_with_parent

        pool = concurrent.futures.ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent
        )
        db = db_dir / "hems.db" if db_dir is not None else None
        pending = pool.submit(_solo, cfg.model_dump(mode="json"), first, days, seed, zone, "hems", db)
    world = build_world(cfg, first, days, seed, zone)
    oracle = None
    if "oracle" in strategies:
        began = time.perf_counter()
        oracle, solved = solve_oracle(world, battery_of(cfg))
        log.info("oracle planned in %.1f s (%s)", time.perf_counter() - began, solved["status"])
        if solved["status"] != "optimal":
            notes.append(
                f"the oracle's plan is {solved['status']} (gap {solved.get('mip_gap')}): not proven best"
            )
        else:
            gap = float(solved.get("mip_gap") or 0.0)
            notes.append(
                f"the oracle's plan is proven within {gap:.3%} of the best its model allows (a best plan "
                f"could cost up to {gap * abs(float(solved['objective'])):.2f} less)"
            )
    results = {}
    try:
        for name in strategies:
            if name == "hems" and pending is not None:
                continue
            began = time.perf_counter()
            db = db_dir / f"{name}.db" if db_dir is not None else None
            outcome = asyncio.run(run_strategy(world, name, db, oracle))
            results[name] = result(world, outcome, time.perf_counter() - began)
        if pending is not None:
            results["hems"] = pending.result()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    results = {name: results[name] for name in strategies}
    if "hems" in results:
        day = (first - timedelta(days=1)).isoformat()
        notes.append(
            f"the hems box starts with one day of history ({day}: the household's base load and PV, "
            "appliances idle), as a box that has run before: its load forecast reads yesterday"
        )
    if "hems" in results and results["hems"].plans == 0 and results["hems"].runs_requested:
        notes.append("the hems box made no plan at all (its log says why): its figures are the fallback's")
    share = share_of_oracle_savings(results)
    if pump_notes and share is not None:
        share = None
        notes.append(
            "hems_share_of_oracle_savings is left out: the oracle cannot move the heat pump, so with one "
            "it is no lower bound (hems can beat it); compare hems with none and rule"
        )
    doc = {
        "period": {"start": first.isoformat(), "days": days, "zone": zone, "seed": seed},
        "strategies": {name: r.to_json() for name, r in results.items()},
        "hems_share_of_oracle_savings": _round(share),
    }
    if "none" in results and "hems" in results:
        doc["hems_saving_over_none"] = round(results["none"].bill.total - results["hems"].bill.total, 2)
    if notes:
        doc["notes"] = notes
    return doc, {"world": world, "results": results}


def heat_pump_notes(cfg: HemsConfig) -> list[str]:
    """What the figures of an SG Ready heat pump mean, strategy by strategy."""
    pumps = [a.id for a in cfg.appliance if a.driver == "sg-ready"]
    if not pumps:
        return []
    return [
        f"SG Ready heat pump ({', '.join(pumps)}): the twin's air-to-water heat pump and its buffer tank on "
        "the floor heating's circuit, in every strategy; none and oracle leave it on its own controller "
        "(the optimiser has no model of its heat, so the oracle's bill bounds the planned appliances, "
        "not the heat pump), rule switches its contacts by the day's spot prices, hems drives it "
        "through its real SG Ready driver behind two simulated relay contacts"
    ]


def _solo(
    cfg_doc: dict[str, Any], first: date, days: int, seed: int, zone: str, name: str, db: Path | None
) -> Any:
    """One strategy in a worker process: its own world (the same inputs), its run, its figures."""
    from hems.evaluate.metrics import result
    from hems.evaluate.run import run_strategy
    from hems.evaluate.world import build_world

    logging.getLogger("hems.control").setLevel(logging.ERROR)
    cfg = HemsConfig.model_validate(cfg_doc)
    began = time.perf_counter()
    world = build_world(cfg, first, days, seed, zone)
    outcome = asyncio.run(run_strategy(world, name, db, None))
    return result(world, outcome, time.perf_counter() - began)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)
