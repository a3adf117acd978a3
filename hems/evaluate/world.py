"""What every strategy of `hems evaluate` faces alike: the household's days, weather, PV and prices.

`World` is computed once per evaluation and handed to every strategy: the twin's base load (every
ordinary circuit, every 10 s), the PV it produces (every 10 s, from pvlib's clear sky and the days'
clouds), the simulated day-ahead prices, the household's tariff, and the needs the household will
ask of its appliances. Only needs whose whole window lies inside the period count (the last
evening's EV, wanted the morning after the period, is not asked for), so every strategy has the same
work to do and can finish it.

Arrays are numpy, indexed by 10-s steps from the period's start (``STEP_S``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from devices.appliances.device import Need
from devices.simulated.behaviour import Behaviour
from devices.simulated.household import BASE_CIRCUITS, STEP_S, Household, cloud_factor
from devices.simulated.layout import SimCircuit, element_currents, household_circuits
from hems.config import HemsConfig
from tariffs.household import HouseholdTariff, household_tariff
from tariffs.pricesim import SimulatedMarket

SLOT_S = 900
STEPS_PER_SLOT = SLOT_S // STEP_S


class PeriodBehaviour(Behaviour):
    """The household's days, asking only for what fits in the period (see the module docstring)."""

    def __init__(self, seed: int, timezone: str, start: datetime, end: datetime) -> None:
        super().__init__(seed, timezone)
        self.start, self.end = start, end

    def needs(self, day: date) -> list[Need]:
        return [n for n in super().needs(day) if n.at >= self.start and n.latest_end <= self.end]


@dataclass
class World:
    """The inputs of one evaluation (see the module docstring)."""

    cfg: HemsConfig
    start: datetime  #: UTC, local midnight of the first day
    end: datetime  #: UTC, local midnight after the last day
    seed: int
    zone: str
    behaviour: PeriodBehaviour
    market: SimulatedMarket
    tariff: HouseholdTariff
    circuits: list[SimCircuit]
    base_w: dict[str, np.ndarray]  #: base circuit → power per 10-s step [W]
    pv_w: np.ndarray  #: PV per 10-s step [W]
    base_total_w: np.ndarray  #: all base circuits together per 10-s step [W]
    line_phasor: dict[str, np.ndarray]  #: line → base load's current phasor per step (PV apart) [A]
    coef: dict[str, dict[str, complex]]  #: element line ("L1", "3P"...) → line → current per watt
    needs: list[Need]
    outdoor_c: Callable[[datetime], float]  #: the weather's outdoor temperature [°C]
    clear_w: dict[date, list[float]] = field(default_factory=dict)  #: per local minute [W]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.cfg.site.timezone)

    @property
    def steps(self) -> int:
        return len(self.pv_w)

    @property
    def slots(self) -> list[datetime]:
        n = int((self.end - self.start).total_seconds() // SLOT_S)
        return [self.start + timedelta(seconds=SLOT_S * i) for i in range(n)]

    @property
    def days(self) -> list[date]:
        first = self.start.astimezone(self.tz).date()
        n = round((self.end - self.start).total_seconds() / 86400)
        return [first + timedelta(days=i) for i in range(n)]

    def index(self, t: datetime) -> float:
        """Position of ``t`` in 10-s steps from the start."""
        return (t - self.start).total_seconds() / STEP_S

    def spot(self) -> Any:
        """Every day's spot prices on one 15-min grid [currency/kWh] (the oracle's knowledge)."""
        return self.market.between(self.days[0], self.days[-1])


def build_world(cfg: HemsConfig, first: date, days: int, seed: int, zone: str) -> World:
    """The world of ``days`` local days from ``first`` for the (twin-ready) configuration ``cfg``."""
    from tariffs.pricesim import ZONES

    site = cfg.site
    tz = ZoneInfo(site.timezone)
    start = datetime(first.year, first.month, first.day, tzinfo=tz).astimezone(UTC)
    last = first + timedelta(days=days)
    end = datetime(last.year, last.month, last.day, tzinfo=tz).astimezone(UTC)
    behaviour = PeriodBehaviour(seed, site.timezone, start, end)
    household = Household(seed, site.timezone, behaviour)
    if zone not in ZONES:
        raise ValueError(f"simulated prices exist for {', '.join(ZONES)}, not {zone!r}")
    tariff = household_tariff(
        cfg.tariff, country=site.country, tz=site.timezone, site_main_fuse_a=site.main_fuse_a
    )
    market = SimulatedMarket(zone, seed, site.timezone, tariff.currency, cfg.tariff.currency_per_eur)
    base: dict[str, list[np.ndarray]] = {c: [] for c in BASE_CIRCUITS}
    pv_parts: list[np.ndarray] = []
    clear: dict[date, list[float]] = {}
    kwp = sum(a.kwp for a in cfg.pv.array) if cfg.pv and cfg.pv.array else 0.0
    for i in range(days):
        day = first + timedelta(days=i)
        b = household.day_base(day)
        for c in BASE_CIRCUITS:
            base[c].append(np.frombuffer(b.circuit_w[c], dtype=np.float64).copy())
        pv_parts.append(_pv_day(household, cfg, day, b.steps, kwp, clear))
    base_w = {c: np.concatenate(v) for c, v in base.items()}
    pv_w = np.concatenate(pv_parts)
    circuits = household_circuits(site.network)
    lines = ("L1",) if site.network == "1P" else ("L1", "L2", "L3")
    coef: dict[str, dict[str, complex]] = {}
    for line in {c.line for c in circuits} | {"3P"}:
        touched = element_currents(1.0, line, site.network, site.voltage_v)
        coef[line] = {ln: touched.get(ln, 0j) for ln in lines}
    phasor = {ln: np.zeros(len(pv_w), dtype=np.complex128) for ln in lines}
    for circuit in circuits:
        if circuit.id in base_w:
            for ln in lines:
                if coef[circuit.line][ln]:
                    phasor[ln] += coef[circuit.line][ln] * base_w[circuit.id]
    needs = [n for d in range(-1, days + 1) for n in behaviour.needs(first + timedelta(days=d))]
    total = np.sum(np.vstack(list(base_w.values())), axis=0)
    return World(
        cfg,
        start,
        end,
        seed,
        zone,
        behaviour,
        market,
        tariff,
        circuits,
        base_w,
        pv_w,
        total,
        phasor,
        coef,
        needs,
        household.outdoor_temp_c,
        clear,
    )


def _pv_day(
    household: Household, cfg: HemsConfig, day: date, steps: int, kwp: float, clear: dict[date, list[float]]
) -> np.ndarray:
    """The day's PV per 10-s step [W] (clear sky per minute × the minute's clouds)."""
    if kwp <= 0:
        return np.zeros(steps)
    from devices.simulated.solar import PvSite, clear_sky_day_w

    array = cfg.pv.array[0] if cfg.pv and cfg.pv.array else None
    site = PvSite(
        cfg.site.latitude,
        cfg.site.longitude,
        cfg.site.timezone,
        kwp=kwp,
        tilt_deg=array.tilt_deg if array else 30.0,
        azimuth_deg=array.azimuth_deg if array else 180.0,
    )
    minutes = clear_sky_day_w(site, day)
    clear[day] = minutes
    start = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(cfg.site.timezone)).astimezone(UTC)
    per_minute = np.array(
        [
            w * cloud_factor(household.cloud(start + timedelta(minutes=i))) if w > 0 else 0.0
            for i, w in enumerate(minutes)
        ]
    )
    per_step = np.repeat(per_minute, 60 // STEP_S)
    return per_step[:steps] if len(per_step) >= steps else np.pad(per_step, (0, steps - len(per_step)))


def slot_means(values: np.ndarray) -> np.ndarray:
    """Means per 15-min slot of a per-10-s array."""
    n = len(values) // STEPS_PER_SLOT
    return values[: n * STEPS_PER_SLOT].reshape(n, STEPS_PER_SLOT).mean(axis=1)


def warmup_slots(world: World) -> list[tuple[datetime, dict[str, float]]]:
    """The day before the period as a box's database would hold it: per 15-min slot (its start, UTC)
    the means of import, export and PV [W] from the same household's base load and weather (the
    appliances idle). It gives the hems box the yesterday its load forecast reads, as a box that
    has run before has."""
    cfg = world.cfg
    first = world.days[0]
    day = first - timedelta(days=1)
    tz = world.tz
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    household = Household(world.seed, cfg.site.timezone, world.behaviour)
    base = household.day_base(day)
    total = np.sum([np.frombuffer(base.circuit_w[c], dtype=np.float64) for c in BASE_CIRCUITS], axis=0)
    kwp = sum(a.kwp for a in cfg.pv.array) if cfg.pv and cfg.pv.array else 0.0
    pv = _pv_day(household, cfg, day, base.steps, kwp, {})
    net = total - pv
    means = {
        "grid.p_import_w": slot_means(np.maximum(net, 0.0)),
        "grid.p_export_w": slot_means(np.maximum(-net, 0.0)),
        "pv.p_w": slot_means(pv),
    }
    n = len(means["pv.p_w"])
    return [
        (start + timedelta(seconds=SLOT_S * i), {k: round(float(v[i]), 1) for k, v in means.items()})
        for i in range(n)
    ]
