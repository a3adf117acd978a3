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
from datetime import date
from pathlib import Path
from typing import Any

from hems.config import HemsConfig

STRATEGIES = ("none", "rule", "hems", "oracle")
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
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run ``strategies`` over ``days`` local days from ``first``; (the contract's JSON document, the
    `metrics.Result` per strategy). ``cfg`` is made ready for the twin (`hems.twin.twin_config`)."""
    from hems.evaluate.boxes import solve_oracle
    from hems.evaluate.metrics import result, share_of_oracle_savings
    from hems.evaluate.run import run_strategy
    from hems.evaluate.world import build_world
    from hems.twin import battery_of, twin_config

    if "oracle" in strategies and days * 96 > MAX_ORACLE_SLOTS:
        raise ValueError(
            f"--days: the oracle plans at most {MAX_ORACLE_SLOTS // 96} days at once (one MILP); "
            "give fewer days or leave the oracle out"
        )
    cfg, notes = twin_config(cfg)
    zone = zone or cfg.tariff.bidding_zone
    cfg = cfg.model_copy(
        update={"tariff": cfg.tariff.model_copy(update={"bidding_zone": zone}), "mqtt": None}
    )
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
    results = {}
    for name in strategies:
        began = time.perf_counter()
        db = db_dir / f"{name}.db" if db_dir is not None else None
        outcome = asyncio.run(run_strategy(world, name, db, oracle))
        results[name] = result(world, outcome, time.perf_counter() - began)
    doc = {
        "period": {"start": first.isoformat(), "days": days, "zone": zone, "seed": seed},
        "strategies": {name: r.to_json() for name, r in results.items()},
        "hems_share_of_oracle_savings": _round(share_of_oracle_savings(results)),
    }
    if notes:
        doc["notes"] = notes
    return doc, {"world": world, "results": results}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)
