"""Control: overload warnings, appliance schedules over MQTT, relays and load shedding.

The daemon calls `build_control(config, storage, clock)` once and then, every cycle,
``await control.on_cycle(snapshot)``; ``await control.start()`` before the first cycle and
``await control.stop()`` at shutdown. See docs/control.md.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import date
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # hems.config imports hems.control.config: keep this package light to import
    from devices.appliances.link import LocalBus
    from hems.alerts.config import AlertsConfig
    from hems.alerts.engine import AlertEngine
    from hems.clock import Clock
    from hems.config import HemsConfig
    from hems.control.core import Control
    from hems.control.scenario import LoadFn, Planner, PriceFn
    from hems.control.transport import Transport
    from hems.jobs import JobRunner

log = logging.getLogger(__name__)

__all__ = ["Control", "build_alert_engine", "build_control"]


def _lines(network: str) -> tuple[str, ...]:
    return ("L1",) if network == "1P" else ("L1", "L2", "L3")


def build_alert_engine(
    config: HemsConfig, alerts: AlertsConfig | None = None, day: date | None = None
) -> AlertEngine:
    """The overload rules of ``config``'s site: main fuse, circuit breakers, tariff limits.

    Capacity steps come from ``alerts`` or else from the tariff in force on local ``day``.
    """
    from hems.alerts.config import AlertsConfig
    from hems.alerts.engine import AlertEngine, BreakerSpec

    alerts = alerts or getattr(config, "alerts", None) or AlertsConfig.model_validate({})
    site = config.site
    updates: dict[str, Any] = {}
    if alerts.contract_kw is None and getattr(config.tariff, "contracted_power_kw", None):
        updates["contract_kw"] = config.tariff.contracted_power_kw
    if alerts.capacity_step_upper_kw is None and day is not None:
        from hems.control.inputs import capacity_steps

        steps = capacity_steps(config, day)
        if steps is not None:
            updates["capacity_step_upper_kw"], updates["capacity_step_price"] = steps
    if updates:
        alerts = alerts.model_copy(update=updates)
    circuits = [
        BreakerSpec(f"breaker.circuit.{c.id}", c.breaker_a, c.curve, site.voltage_v, circuit=c.id)
        for c in config.circuit
    ]
    return AlertEngine(
        alerts,
        main_fuse_a=site.main_fuse_a,
        main_fuse_curve=site.main_fuse_curve,
        lines=_lines(site.network),
        voltage_v=site.voltage_v,
        circuits=circuits,
        timezone=site.timezone,
    )


def build_control(
    config: HemsConfig,
    storage: Any | None,
    clock: Clock,
    *,
    planner: Planner | None = None,
    prices: PriceFn | None = None,
    base_load: LoadFn | None = None,
    pv_forecast: LoadFn | None = None,
    jobs: bool = True,
    bus: LocalBus | None = None,
    job_parts: dict[str, Any] | None = None,
) -> Control:
    """Everything control needs, from the configuration. MQTT when ``[mqtt]`` is set; else, given a
    ``bus``, the appliances are reached on that in-process bus (`hems.control.transport.LocalTransport`).

    ``planner``/``prices``/``base_load``/``pv_forecast`` default to the optimiser in a worker
    process, the tariff's prices on the cached spot prices, the last 14 days' consumption without the
    appliances, and the forecast job's stored PV forecasts. With a database and ``jobs`` the
    scheduled jobs (prices, report, telemetry) run from the control hook's cycle; ``job_parts``
    replaces or leaves out some of them (see `build_jobs`).
    """
    from hems.control.book import ScheduleBook
    from hems.control.core import Control
    from hems.control.scenario import SiteFacts, default_planner, flat_prices, prewarm_planner
    from hems.mqtt import topics
    from hems.mqtt.bridge import MqttBridge

    site = config.site
    connection = storage.connection if storage is not None else sqlite3.connect(":memory:")
    book = ScheduleBook(connection, config.appliance, getattr(storage, "lock", None))
    if prices is None:
        try:
            from hems.control.inputs import tariff_prices

            prices = tariff_prices(config, storage)
        except (ImportError, ValueError, LookupError) as exc:
            log.warning("no tariff prices (%s): planning with a flat price", exc)
            prices = flat_prices()
    if base_load is None and storage is not None:
        from hems.control.inputs import history_base_load

        base_load = history_base_load(storage)
    if pv_forecast is None and storage is not None and config.pv is not None and config.pv.array:
        from hems.control.inputs import stored_pv_forecast

        pv_forecast = stored_pv_forecast(storage, site.timezone)
    bridge: Transport | None = None
    mqtt = config.mqtt
    filters = [topics.appliance_filter(site.id, leaf) for leaf in topics.FROM_APPLIANCE]
    if mqtt is not None:
        if mqtt.homeassistant_discovery:
            filters.append(f"{mqtt.homeassistant_prefix}/status")
        bridge = MqttBridge(mqtt, site.id, filters)
    elif bus is not None:
        from hems.control.transport import LocalTransport

        bridge = LocalTransport(bus, site.id, filters)
    if planner is None and config.appliance:
        prewarm_planner()
    control = Control(
        site=site.id,
        clock=clock,
        engine=build_alert_engine(config, day=clock.now().astimezone(ZoneInfo(site.timezone)).date()),
        book=book,
        appliances=config.appliance,
        site_facts=SiteFacts(site.timezone, site.network, site.voltage_v, site.main_fuse_a),
        planner=planner or default_planner,
        prices=prices,
        storage=storage,
        bridge=bridge,
        base_load=base_load,
        pv_forecast=pv_forecast,
        resend_s=mqtt.resend_s if mqtt else 60.0,
        discovery=bool(mqtt and mqtt.homeassistant_discovery),
        circuits=[c.id for c in config.circuit],
        ha_prefix=mqtt.homeassistant_prefix if mqtt else topics.HA_PREFIX,
        currency=_currency(config),
    )
    if any(a.driver != "hems" for a in config.appliance):
        from hems.control.drivers import DriverHost

        control.drivers = DriverHost(config, clock, storage, prices, bus)
    if jobs and storage is not None:
        control.jobs = build_jobs(config, storage, clock, control.request_replan, job_parts)
    return control


def _household(config: HemsConfig) -> Any:
    """The household's `HouseholdTariff`, or None when [tariff] cannot be built (logged)."""
    try:
        from tariffs.household import household_tariff

        site = config.site
        return household_tariff(
            config.tariff, country=site.country, tz=site.timezone, site_main_fuse_a=site.main_fuse_a
        )
    except (ImportError, ValueError, LookupError) as exc:
        log.warning("no household tariff: %s", exc)
        return None


def _currency(config: HemsConfig) -> str:
    household = _household(config)
    if household is not None:
        return str(household.currency)
    return "EUR" if config.site.country != "NO" else "NOK"


def build_jobs(
    config: HemsConfig,
    storage: Any,
    clock: Clock,
    replan: Any = None,
    given: dict[str, Any] | None = None,
) -> JobRunner:
    """The daemon's scheduled jobs on ``storage``'s database: day-ahead prices, the hourly PV forecast
    (with a [pv] array), the daily report and the telemetry upload (each only if its part is
    installed); ``replan`` after new prices or a new forecast.

    ``given`` (`hems.jobs.standard_jobs` names: ``fetch_prices``, ``forecast``, ``report``,
    ``telemetry``) replaces a job's function, or leaves the job out when its value is None: a
    simulated household fetches simulated prices and uploads nothing unless asked."""
    from hems.control.prices import prices_job
    from hems.jobs import JobRunner, standard_jobs

    tz = config.site.timezone
    given = dict(given or {})
    parts: dict[str, Any] = {}
    if "fetch_prices" not in given:
        parts["fetch_prices"] = prices_job(config, storage)
    if "forecast" not in given and config.pv is not None and config.pv.array:
        from hems.forecast import forecast_job

        parts["forecast"] = forecast_job(config, storage, clock)
    try:
        from hems.reports.job import report_job

        if "report" not in given:
            parts["report"] = report_job(storage, tz, tariff=_household(config))  # reports with their cost
    except ImportError as exc:
        log.warning("no report job: %s", exc)
    try:
        from hems.telemetry.job import telemetry_job
        from hems.telemetry.privacy import deidentify_site, equipment

        site: Any = config.site  # their Protocol declares network: str; ours is a Literal of str
        if "telemetry" not in given:
            home = deidentify_site(site, **equipment(config.pv, config.appliances))
            parts["telemetry"] = telemetry_job(config.telemetry, storage, clock, home)
        if "research_jobs" not in given:
            from hems.research_jobs.facts import box_facts
            from hems.research_jobs.job import research_jobs_job

            facts = box_facts(deidentify_site(site), config.circuits, config.appliances)
            jobs_config = config.research_jobs
            parts["research_jobs"] = research_jobs_job(config.telemetry, jobs_config, storage, clock, facts)
    except ImportError as exc:
        log.warning("no telemetry job: %s", exc)
    parts.update({k: v for k, v in given.items() if v is not None})
    runner = JobRunner(clock, storage.connection, storage.lock)
    for job in standard_jobs(tz, telemetry_hour=config.telemetry.upload_hour, replan=replan, **parts):
        runner.add(job)
    return runner


def __getattr__(name: str) -> Any:
    if name == "Control":  # `from hems.control import Control` without importing it eagerly
        from hems.control.core import Control

        return Control
    raise AttributeError(name)
