"""The box on the digital twin: what ``hems demo`` and ``hems evaluate`` share.

- `twin_config`: a household's configuration made ready for the twin: its devices are the twin's
  (12 circuits), its smart appliances the twin's unless the configuration names its own, its PV
  the twin's roof unless [pv] says otherwise, and a Norwegian grid tariff (Elvia) when none is set,
  so prices and capacity steps are real;
- `connect_appliances`: each configured appliance's twin device gets an agent on the box's
  transport (an in-process `LocalBus`, or a broker); the others run on their own;
- `simulated_jobs`: the scheduled jobs of a simulated household — day-ahead prices from the
  simulated market (tariffs/pricesim.py) published at 13:00, the PV forecast from the simulated
  weather service, no telemetry unless asked for (and then marked simulated), the daily report;
- `publish_prices`: what the market had published at the start (so the first day has prices).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from hems.config import HemsConfig

if TYPE_CHECKING:
    from devices.appliances.link import LocalBus
    from devices.simulated import Twin
    from devices.simulated.behaviour import Behaviour
    from hems.clock import Clock
    from hems.storage import Storage
    from tariffs.pricesim import SimulatedMarket

DEFAULT_GRID_COMPANY = "Elvia"
TWIN_PV_KWP = 6.0  #: the twin's roof when the configuration has no [pv] [kWp]
EV_MIN_KW = 4.14  #: three-phase 6 A on 230 V: the lowest current a charger can give [kW]


TWIN_SHELLY = "shellyplus1pm-twin"  #: the water heater's simulated Shelly (``--drivers``)
TWIN_CHARGE_POINT = "twin-ev"  #: the EV's simulated OCPP charge point (``--drivers``)


#: the driven water heater's daily needs: the twin's tank is refilled after the morning showers (by
#: 17:00) and after the evening ones (by 06:00), at most ~5.7 and ~2.6 kWh (devices/simulated/behaviour.py);
#: a relay cannot tell the box what the tank lacks, so each window asks for 6 kWh and the
#: thermostat stops the element when the tank is full
TWIN_HEATER_WINDOWS = "08:15-17:00, 22:45-06:00"
#: the driven EV: the household's setting is a session the twin's car never exceeds (≤ 22.4 kWh),
#: ready by its earliest departure (06:30), at the twin car's 10 A on three phases; its charger
#: reports the car's state of charge (a 60 kWh battery), so each session asks for what the car lacks
TWIN_EV_SESSION = {"energy_kwh": 24.0, "ready_by": "06:30", "car_kwh": 60.0}
TWIN_EV_KW = 6.9
#: the twin's appliances that can sit behind a real driver ("battery": the configured battery, kind
#: "battery", whatever its id)
TWIN_DRIVEN = ("water-heater", "ev", "battery")
#: the twin's SG Ready heat pump (`with_heat_pump`, ``hems evaluate --heat-pump``)
TWIN_HEAT_PUMP: dict[str, Any] = {
    "id": "heat-pump",
    "kind": "relay",
    "power_kw": 2.0,
    "driver": "sg-ready",
    "circuit": "bathroom-floor",
    "device": {"topic": "shellypro2-twin-heatpump", "channel": 0, "channel_b": 1},
}


def twin_appliances(network: str, drivers: Collection[str] = ()) -> list[dict[str, Any]]:
    """The [[appliance]] tables of the twin's smart appliances, on its circuits' lines; ``drivers``:
    which of `TWIN_DRIVEN` the box drives with its real drivers (`drive`)."""
    return drive(_twin_appliances(network), drivers)


def drivable(cfg: HemsConfig) -> tuple[str, ...]:
    """Which of `TWIN_DRIVEN` ``cfg``'s appliances (or the twin's own, when it names none) have."""
    if not cfg.appliance:
        return ("water-heater", "ev")
    have = {"battery" if a.kind == "battery" else a.id for a in cfg.appliance}
    return tuple(d for d in TWIN_DRIVEN if d in have)


def drive(tables: list[dict[str, Any]], drivers: Collection[str]) -> list[dict[str, Any]]:
    """``tables`` (the twin's appliances, or a configuration's for them) with ``drivers`` — of
    `TWIN_DRIVEN` — behind their real drivers (docs/appliances.md): the water heater behind a
    simulated Shelly, the EV behind a simulated OCPP charge point."""
    unknown = set(drivers) - set(TWIN_DRIVEN)
    ids = {"battery" if a.get("kind") == "battery" else a["id"] for a in tables}
    if unknown:
        raise ValueError(f"the twin has no driven appliance {sorted(unknown)} (it has {list(TWIN_DRIVEN)})")
    if not set(drivers) <= ids:
        missing = sorted(set(drivers) - ids)
        hint = ' (a battery needs [[appliance]] kind = "battery")' if "battery" in missing else ""
        raise ValueError(f"no driven appliance {missing} in the configuration's appliances{hint}")
    out = [dict(a) for a in tables]
    for a in out:
        if a.get("kind") == "battery" and "battery" in drivers:
            a.update(driver="sunspec", device={"host": "127.0.0.1", "port": _free_port(), "unit_id": 1})
        if a["id"] == "water-heater" and "water-heater" in drivers:
            a.update(
                driver="shelly",
                device={"topic": TWIN_SHELLY, "energy_kwh": 6.0, "window": TWIN_HEATER_WINDOWS},
            )
        elif a["id"] == "ev" and "ev" in drivers:
            device = {"charge_point": TWIN_CHARGE_POINT, "password": "twin-ev-secret"}
            a.update(driver="ocpp", power_kw=TWIN_EV_KW, device={**device, **TWIN_EV_SESSION})
    return out


def _twin_appliances(network: str) -> list[dict[str, Any]]:
    from devices.simulated.layout import household_circuits

    lines = {c.id: c.line for c in household_circuits(network)}
    return [
        {"id": "dishwasher", "kind": "shiftable", "circuit": "dishwasher", "line": lines["dishwasher"]},
        {"id": "washer", "kind": "shiftable", "circuit": "washer", "line": lines["washer"]},
        {
            "id": "ev",
            "kind": "energy",
            "circuit": "ev-charger",
            "line": lines["ev-charger"],
            "sheddable": True,
            "interruptible": True,
            "shed_action": "limit",
            "min_kw": EV_MIN_KW,
            "priority": 1,
        },
        {
            "id": "water-heater",
            "kind": "thermal",
            "circuit": "water-heater",
            "line": lines["water-heater"],
            "sheddable": True,
            "interruptible": True,
            "power_kw": 2.0,
            "priority": 2,
        },
    ]


def twin_config(cfg: HemsConfig, drivers: Collection[str] = ()) -> tuple[HemsConfig, list[str]]:
    """``cfg`` for the twin (see the module docstring), and notes on what was filled in; ``drivers``:
    see `twin_appliances`."""
    from devices.modbus.config import CircuitConfig
    from devices.simulated.layout import household_circuits
    from hems.control.config import ApplianceConfig

    notes = []
    circuits = [
        CircuitConfig(id=c.id, name=c.name, line=c.line, breaker_a=c.breaker_a, curve=c.curve)
        for c in household_circuits(cfg.site.network)
    ]
    update: dict[str, Any] = {"circuit": circuits, "meter": None}
    if not cfg.appliance or drivers:
        if cfg.appliance:
            tables = drive([a.model_dump(exclude_unset=True) for a in cfg.appliance], drivers)
        else:
            tables = twin_appliances(cfg.site.network, drivers)
            notes.append("smart appliances: the twin's dishwasher, washer, EV charger and water heater")
        update["appliance"] = [ApplianceConfig.model_validate(a) for a in tables]
        if "water-heater" in drivers:
            notes.append("drivers: the water heater behind a simulated Shelly (its real driver)")
        if "battery" in drivers:
            notes.append("drivers: the battery behind a simulated SunSpec inverter (Modbus TCP)")
        if "ev" in drivers:
            from devices.appliances.drivers.config import OcppConfig

            notes.append("drivers: the EV behind a simulated OCPP charge point (its real driver)")
            update["ocpp"] = cfg.ocpp or OcppConfig(host="127.0.0.1", port=_free_port())
    if cfg.pv is None:
        from optimiser.forecast.config import PvArrayConfig, PvConfig, WeatherConfig

        array = PvArrayConfig(name="twin roof", kwp=TWIN_PV_KWP)
        update["pv"] = PvConfig(array=[array], weather=WeatherConfig(source="none"))
        notes.append(f"PV: the twin's {TWIN_PV_KWP:g} kWp roof (no [pv] given)")
    if cfg.tariff.grid_company is None and cfg.site.country == "NO" and not cfg.tariff.band:
        update["tariff"] = cfg.tariff.model_copy(update={"grid_company": DEFAULT_GRID_COMPANY})
        notes.append(f"grid tariff: {DEFAULT_GRID_COMPANY} (no [tariff].grid_company given)")
    return cfg.model_copy(update=update), notes


def with_heat_pump(cfg: HemsConfig) -> HemsConfig:
    """``cfg`` with the twin's SG Ready heat pump (`TWIN_HEAT_PUMP`) unless it configures one: a 2-kW
    air-to-water heat pump on the floor heating's circuit, its two SG Ready inputs on the two
    channels of a simulated Shelly Pro 2, the household's comfort limits the driver's defaults."""
    from hems.control.config import ApplianceConfig

    if any(a.driver == "sg-ready" for a in cfg.appliance):
        return cfg
    pump = ApplianceConfig.model_validate(TWIN_HEAT_PUMP)
    return cfg.model_copy(update={"appliance": [*cfg.appliance, pump]})


def battery_of(cfg: HemsConfig) -> Any:
    """The configured battery appliance, or None."""
    return next((a for a in cfg.appliance if a.kind == "battery"), None)


def connect_appliances(
    twin: Twin, cfg: HemsConfig, *, bus: LocalBus | None = None, mqtt: tuple[str, int] | None = None
) -> list[str]:
    """Give every twin appliance that ``cfg`` configures an agent on the box's transport (``bus``,
    or a broker at ``mqtt``); the ids connected."""
    from devices.appliances.agent import ApplianceAgent
    from hems.mqtt import topics
    from hems.twin_peers import driven_peer

    configured = {a.id for a in cfg.appliance}
    out = []
    for device in twin.appliances:
        if device.id not in configured:
            continue
        will = (topics.appliance(cfg.site.id, device.id, "state"), b"offline", True)
        link: Any
        if mqtt is not None:
            from devices.appliances.mqtt_link import MqttLink

            user, password = (cfg.mqtt.username, cfg.mqtt.password) if cfg.mqtt else (None, None)
            link = MqttLink(
                mqtt[0], mqtt[1], f"twin-{cfg.site.id}-{device.id}", will, username=user, password=password
            )
        else:
            assert bus is not None
            link = bus.client(f"twin-{device.id}", will=will)
        cfg_of = next(a for a in cfg.appliance if a.id == device.id)
        if cfg_of.driver != "hems":
            link.close()
            twin.attach(
                driven_peer(device, cfg_of, cfg, bus, mqtt, twin.clock.now)
            )  # the device behind its real protocol
        else:
            twin.attach(ApplianceAgent(device, link, cfg.site.id))
        out.append(device.id)
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def publish_prices(storage: Storage, market: SimulatedMarket, zone: str, now: datetime) -> None:
    """Put what the market has published at ``now`` (today, and tomorrow after 13:00) in the cache."""
    from hems.storage.price_cache import SqlitePriceCache

    today = now.astimezone(ZoneInfo(market.tz)).date()
    with storage.lock:
        SqlitePriceCache(storage.connection).put(zone, market.published(now, today))


def pv_forecast_doc(behaviour: Behaviour, tz: str, day: date, clear_w: list[float]) -> dict[str, Any]:
    """The forecast job's document for ``day`` (``forecast.pv.<date>``), from the simulated weather
    service's cloudiness (the true one plus the day's forecast error) on the clear-sky profile."""
    from devices.simulated.household import cloud_factor
    from tariffs.series import day_slots

    slots = day_slots(day, tz, 15)
    cloud = behaviour.cloud_forecast(day)
    out = []
    for i, t in enumerate(slots):
        minutes = clear_w[i * 15 : i * 15 + 15] or [0.0]
        out.append(
            {"start": t.isoformat(), "pv_w": round(sum(minutes) / len(minutes) * cloud_factor(cloud), 1)}
        )
    return {"date": day.isoformat(), "timezone": tz, "slot_minutes": 15, "source": "simulated", "slots": out}


def simulated_jobs(
    cfg: HemsConfig,
    storage: Storage,
    clock: Clock,
    market: SimulatedMarket,
    forecast: Any = None,
    *,
    upload: bool = False,
) -> dict[str, Any]:
    """The job functions of a simulated household (``build_control(job_parts=...)``): the day-ahead
    prices from the simulated market, and with them (``forecast(day)``: a coroutine storing the
    weather service's PV forecast for ``day``) tomorrow's PV forecast — the simulated weather
    service issues one a day, so there is no hourly forecast job to re-plan on."""
    from hems.control.prices import prices_job

    fetch_prices = prices_job(cfg, storage, fetch=market.fetcher(clock))

    async def prices_and_forecast(fire: datetime) -> bool | None:
        ok = await fetch_prices(fire)
        if ok and forecast is not None:
            await forecast(fire.astimezone(ZoneInfo(cfg.site.timezone)).date() + timedelta(days=1))
        return ok

    # research jobs answer researchers with aggregates of the household's data: never a simulation's
    parts: dict[str, Any] = {"fetch_prices": prices_and_forecast, "forecast": None, "research_jobs": None}
    if upload:
        from hems.telemetry.job import telemetry_job
        from hems.telemetry.privacy import deidentify_site, equipment

        site: Any = cfg.site
        facts = deidentify_site(site, **equipment(cfg.pv, cfg.appliances))
        parts["telemetry"] = telemetry_job(cfg.telemetry, storage, clock, facts, simulated=True)
    else:
        parts["telemetry"] = None
    return parts


def twin_forecaster(twin: Twin, storage: Storage, clock: Clock) -> Any:
    """``forecast(day)`` for `simulated_jobs`: the twin's PV forecast document for ``day``."""

    async def forecast(day: date) -> None:
        key = f"forecast.pv.{day.isoformat()}"
        if twin.pv_kwp > 0 and storage.get_doc(key) is None:
            clear = await twin.clear_sky(day)
            storage.put_doc(key, pv_forecast_doc(twin.behaviour, twin.timezone, day, clear), clock.now())

    return forecast


def twin_kwargs(cfg: HemsConfig) -> dict[str, Any]:
    """The `devices.simulated.Twin` arguments that follow from a (`twin_config`'d) configuration."""
    site = cfg.site
    battery = battery_of(cfg)
    pv_kwp = sum(a.kwp for a in cfg.pv.array) if cfg.pv and cfg.pv.array else TWIN_PV_KWP
    return {
        "timezone": site.timezone,
        "network": site.network,
        "voltage_v": site.voltage_v,
        "latitude": site.latitude,
        "longitude": site.longitude,
        "pv_kwp": pv_kwp,
        "battery_kwh": battery.capacity_kwh if battery is not None else 0.0,
        "battery_kw": battery.power_kw if battery is not None else 5.0,
        "battery_id": battery.id if battery is not None else "battery",
        "heat_pumps": heat_pumps(cfg),
    }


def heat_pumps(cfg: HemsConfig) -> tuple[tuple[str, str, str, float], ...]:
    """The twin's SG Ready heat pumps: (id, circuit, line, compressor W) of each ``driver =
    "sg-ready"`` appliance (its circuit, or the floor heating's; the circuit's line unless it names
    its own; its ``power_kw``, or 2 kW)."""
    from devices.simulated.layout import household_circuits

    lines = {c.id: c.line for c in household_circuits(cfg.site.network)}
    out = []
    for a in cfg.appliance:
        if a.driver == "sg-ready":
            circuit = a.circuit if a.circuit in lines else "bathroom-floor"
            line = a.line if "line" in a.model_fields_set else lines[circuit]
            out.append((a.id, circuit, line, (a.power_kw or 2.0) * 1000.0))
    return tuple(out)


def simulated_market(cfg: HemsConfig, seed: int) -> SimulatedMarket | None:
    """The simulated day-ahead market of the household's bidding zone (None outside NO1–NO5)."""
    from tariffs.household import household_tariff
    from tariffs.pricesim import ZONES, SimulatedMarket

    zone = cfg.tariff.bidding_zone
    if zone not in ZONES:
        return None
    currency = household_tariff(cfg.tariff, country=cfg.site.country, tz=cfg.site.timezone).currency
    return SimulatedMarket(zone, seed, cfg.site.timezone, currency, cfg.tariff.currency_per_eur)
