"""`Control`: the daemon's cycle hook for alerts, appliance scheduling, relays and load shedding.

Each cycle (`on_cycle`): evaluate the overload rules (always, with or without MQTT) and report their
transitions (log, storage event, ``hems/<site>/alert``); handle what appliances sent; start a re-plan
in the background when the picture changed; re-send unacknowledged schedules; switch relays at their
planned times; shed or resume loads; publish the retained state. Nothing here awaits the network:
paho has its own thread and the planner runs in a worker off the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from devices.natures import ApplianceState
from hems.alerts.engine import Alert, AlertEngine
from hems.clock import Clock
from hems.control.book import Outcome, ScheduleBook
from hems.control.config import ApplianceConfig
from hems.control.guard import FloodGuard
from hems.control.inputs import seed_capacity
from hems.control.planning import Planning
from hems.control.scenario import (
    SLOT_MINUTES,
    LoadFn,
    Planner,
    PriceFn,
    SiteFacts,
    power_at,
    slot_floor,
)
from hems.control.shedding import ShedAction, Shedder, behind, interruptible, present_power_kw
from hems.control.status import current_price, live_keys
from hems.control.transport import Received, Transport
from hems.jobs import JobRunner
from hems.mqtt import topics
from hems.mqtt.homeassistant import discovery_document
from hems.mqtt.payloads import Command, Rejection, Schedule, dump, is_from_hems
from hems.snapshot import Snapshot, snapshot_to_dict

log = logging.getLogger(__name__)


class Control(Planning):
    """Composes alert rules, the MQTT bridge (optional), the schedule book and load shedding."""

    def __init__(
        self,
        site: str,
        clock: Clock,
        engine: AlertEngine,
        book: ScheduleBook,
        appliances: list[ApplianceConfig],
        site_facts: SiteFacts,
        planner: Planner,
        prices: PriceFn,
        storage: Any | None = None,
        bridge: Transport | None = None,
        base_load: LoadFn | None = None,
        pv_forecast: LoadFn | None = None,
        plan_timeout_s: float = 60.0,
        resend_s: float = 60.0,
        discovery: bool = True,
        circuits: list[str] | None = None,
        ha_prefix: str = topics.HA_PREFIX,
        currency: str = "NOK",
    ) -> None:
        self.site = site
        self.clock = clock
        self.engine = engine
        self.book = book
        self.appliances = {a.id: a for a in appliances}
        self.site_facts = site_facts
        self.planner = planner
        self.prices = prices
        self.storage = storage
        self.bridge = bridge
        self.base_load = base_load
        self.pv_forecast = pv_forecast
        self.plan_timeout_s = plan_timeout_s
        self.resend_s = resend_s
        self.discovery = discovery
        self.circuits = circuits or []
        self.ha_prefix = ha_prefix
        self.currency = currency
        self.shedder = Shedder(appliances, network=site_facts.network)
        self.plan: dict[str, Any] | None = None
        self.plans_made = 0
        self._dirty = True  # plan pending requests at start (they survive restarts)
        self._plan_task: asyncio.Task[None] | None = None
        self._relay_sent: dict[str, str] = {}
        self._price_now: dict[str, Any] | None = None  #: import/export price and band of this slot
        self._price_slot: datetime | None = None
        self._started = False
        self._last_time: datetime | None = None
        self.jobs: JobRunner | None = None  #: scheduled jobs, run from this hook's cycle
        self.drivers: Any = None  #: `hems.control.drivers.DriverHost`: appliances behind drivers
        self.guard = FloodGuard(set(self.appliances))  #: what a flood of bad messages may cost
        self._planned_at: datetime | None = None
        self._kept: tuple[tuple[dict[str, Any], dict[str, Any]], datetime] | None = (
            None  #: last plan, its end
        )
        self._off_plan_since: datetime | None = None
        self.replan_load_kw = 1.5  #: measured import this far from the plan's ... [kW]
        self.replan_after_s = 900.0  #: ... for this long re-plans [s]

    # --- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Seed the capacity tracker from storage and connect to the broker (in the background)."""
        if self._started:
            return
        self._started = True
        seed_capacity(self.engine.capacity, self.storage, self.clock.now())
        if self.bridge is not None:
            self.bridge.on_connected.append(self._on_connected)
            self.bridge.start()
        if self.drivers:
            await self.drivers.start()

    async def stop(self) -> None:
        """Stop jobs and planning, say ``offline`` and disconnect."""
        if self.jobs is not None:
            await self.jobs.stop()
        if self.drivers:
            await self.drivers.stop()
        if self._plan_task is not None and not self._plan_task.done():
            self._plan_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._plan_task
        if self.bridge is not None:
            await asyncio.to_thread(self.bridge.stop)

    async def idle(self) -> None:
        """Wait for what the last cycle started (a re-plan, due jobs): for tests and `hems evaluate`,
        which move their clock only once the box has caught up."""
        while True:
            task = self._plan_task
            if task is not None and not task.done():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self.jobs is not None:
                await self.jobs.idle()
            if self._plan_task is task:
                return

    def request_replan(self, reason: str) -> None:
        """Ask for a new plan at the next cycle (a new forecast, prices, a changed load)."""
        log.info("re-plan requested: %s", reason)
        self._dirty = True

    # --- the cycle ------------------------------------------------------------------------------
    async def on_cycle(self, snapshot: Snapshot) -> None:
        """One cycle (see the module docstring); starts itself on the first call."""
        if not self._started:
            await self.start()
        now = self._last_time = snapshot.time
        for alert in self.engine.evaluate(snapshot):
            self._report(alert)
        if self.drivers:  # devices read back, their agents' messages on the transport
            self.drivers.on_cycle(snapshot)
        if self.bridge is not None:
            for msg in self.bridge.drain():
                try:
                    self._handle(msg, now)
                except Exception:  # a rogue payload must never stop the daemon
                    log.exception("MQTT message on %s could not be handled", msg.topic)
        self._battery_due(now)
        if self._dirty and (self._plan_task is None or self._plan_task.done()):
            self._dirty = False
            self._plan_task = asyncio.create_task(self._replan(now))
            self._plan_task.add_done_callback(_log_failure)
        for schedule in self.book.due_resend(now, self.resend_s):
            aid = next(a for a, s in self.book.schedules().items() if s is schedule)
            self._send_schedule(aid, schedule, now)
        self._drive_relays(now)
        self._check_load(snapshot)
        self._update_price(now)
        power = present_power_kw(self.appliances, self.book, snapshot)
        urgent = behind(self.book, now)
        for action in self.shedder.decide(
            now, self.within_plan(self.engine.active.values(), now), power, interruptible(self.book), urgent
        ):
            self._command(action, now)
        self._publish_state(snapshot)
        if self.jobs is not None:
            await self.jobs.on_cycle(snapshot)

    def channel_values(self) -> dict[str, float]:
        """The running slot's prices as stored channels (``price.import_per_kwh``, ...), and a
        battery's reported power as ``battery.p_w`` (charge positive; reports split it)."""
        price = self._price_now or {}
        out = {
            f"price.{key}": float(value)
            for key in ("import_per_kwh", "export_per_kwh")
            if (value := price.get(key)) is not None
        }
        for aid, cfg in self.appliances.items():
            st = self.book.entries[aid].state
            if cfg.kind == "battery" and st is not None and st.online and st.p_w is not None:
                out["battery.p_w"] = out.get("battery.p_w", 0.0) + float(st.p_w)
        return out

    def appliance_states(self) -> dict[str, ApplianceState]:
        """What each appliance last said about itself (the daemon puts it in its snapshot)."""
        return self.book.states()

    def state(self) -> dict[str, Any]:
        """What control adds to the dashboard's state file (the daemon merges it in)."""
        connected = self.bridge.connected.is_set() if self.bridge else None
        shed = sorted(self.shedder.shed)
        return live_keys(self.engine, self._last_time, self._price_now, shed, self.plan, connected)

    # --- alerts ---------------------------------------------------------------------------------
    def _report(self, alert: Alert) -> None:
        level = logging.INFO if alert.level == "cleared" else logging.WARNING
        log.log(level, "alert %s %s: %s", alert.key, alert.level, alert.message)
        self._event(
            alert.time, f"alert.{alert.kind}", alert.level, alert.message, {"key": alert.key, **alert.data}
        )
        self._publish(topics.alert(self.site), alert.to_payload(), qos=1)

    # --- incoming messages ----------------------------------------------------------------------
    def _handle(self, msg: Received, now: datetime) -> None:
        if msg.topic == f"{self.ha_prefix}/status":
            if msg.payload.strip() == b"online" and self.discovery and self.guard.may_publish_discovery(now):
                self._publish_discovery()
            return
        parsed = topics.parse_appliance_topic(self.site, msg.topic)
        if parsed is None:
            return
        aid, leaf = parsed
        if leaf == "request":
            out = self.book.on_request(aid, msg.payload, now)
        elif leaf == "ack":
            if is_from_hems(msg.payload):
                return
            out = self.book.on_ack(aid, msg.payload, now)
        elif leaf == "state":
            out = self.book.on_status(aid, msg.payload, now)
        else:
            return
        if not out.accepted:
            self._reject(aid, leaf, out, now)
            return
        for gone in out.cancel:
            self.book.withdraw(gone)
            self._publish(topics.appliance(self.site, gone, "schedule"), b"", qos=1, retain=True)
            self._relay_sent.pop(gone, None)
        if out.replan:
            self.request_replan(f"{leaf} from {aid}" + (f" ({out.reason})" if out.reason else ""))
        if leaf == "ack" and out.reason:
            self._event(
                now, "control.refused", "warning", f"{aid} refused schedule {out.version}: {out.reason}"
            )

    def _reject(self, aid: str, leaf: str, out: Outcome, now: datetime) -> None:
        if not self.guard.may_answer(aid, now):  # a flood: refused, but neither answered nor logged
            return
        log.warning("rejected %s from %s: %s", leaf, aid, out.reason)
        self._event(
            now,
            "mqtt.rejected",
            "warning",
            f"{leaf} from {aid} rejected: {out.reason}",
            {"appliance": aid, "topic": leaf},
        )
        rej = Rejection.model_validate(
            {
                "rejected": leaf,
                "reason": out.reason[:300],
                "time": now,
                "seq": out.seq,
                "version": out.version,
            }
        )
        with contextlib.suppress(ValueError):  # an id we cannot address (not a valid topic level)
            self._publish(topics.appliance(self.site, aid, "ack"), dump(rej), qos=1)

    def _update_price(self, now: datetime) -> None:
        """The import price of the running slot [currency/kWh], asked once per slot."""
        slot = slot_floor(now)
        if slot == self._price_slot:
            return
        self._price_slot = slot
        try:
            self._price_now = current_price(self.prices, slot, self.site_facts.timezone, SLOT_MINUTES)
        except Exception:  # no price is no reason to stop the cycle
            log.exception("no price for %s", slot.isoformat())
            self._price_now = None

    # --- outgoing -------------------------------------------------------------------------------
    def _send_schedule(self, aid: str, schedule: Schedule, now: datetime) -> None:
        self._publish(topics.appliance(self.site, aid, "schedule"), dump(schedule), qos=1, retain=True)
        self.book.mark_sent(aid, now)

    def _drive_relays(self, now: datetime) -> None:
        for aid, cfg in self.appliances.items():
            if cfg.kind != "relay" or aid in self.shedder.shed:
                continue
            s = self.book.schedules().get(aid)
            on = s is not None and power_at(s.slot_start, s.slot_minutes, s.power_kw, now) > 0
            action = "start" if on else "stop"
            if self._relay_sent.get(aid, "stop" if s is None else None) != action:
                self._command(ShedAction(aid, action, None, "planned"), now)
                self._relay_sent[aid] = action

    def _command(self, action: ShedAction, now: datetime) -> None:
        cmd = Command(action=action.action, limit_kw=action.limit_kw, time=now, reason=action.reason[:200])  # type: ignore[arg-type]
        if action.reason != "planned":
            what = f"{action.action} {action.appliance}" + (
                f" to {action.limit_kw} kW" if action.limit_kw else ""
            )
            log.warning("load shedding: %s (%s)", what, action.reason)
            self._event(now, "control.shed", "info", f"load shedding: {what}", {"reason": action.reason})
        if action.action == "start" and self.appliances[action.appliance].kind == "relay":
            self._relay_sent.pop(action.appliance, None)  # the plan decides again next cycle
        self._publish(topics.appliance(self.site, action.appliance, "set"), dump(cmd), qos=1)

    def _publish_state(self, snapshot: Snapshot) -> None:
        if self.bridge is None:
            return
        doc = {**snapshot_to_dict(snapshot), **self.state()}
        self._publish(topics.state(self.site), doc, qos=0, retain=True)

    def _publish_discovery(self) -> None:
        topic = topics.ha_discovery(self.site, self.ha_prefix)
        self._publish(topic, discovery_document(self.site, self.circuits, self.currency), qos=1, retain=True)

    def _on_connected(self) -> None:
        """After every (re)connection: retained schedules again (a restarted broker lost them)."""
        now = self.clock.now()
        for aid, schedule in self.book.schedules().items():
            self._send_schedule(aid, schedule, now)
        if self.discovery:
            self._publish_discovery()
        self._relay_sent.clear()

    def _publish(self, topic: str, payload: Any, qos: int = 1, retain: bool = False) -> None:
        if self.bridge is None:
            return
        import json

        data = payload if isinstance(payload, bytes) else json.dumps(payload, default=str).encode()
        self.bridge.publish(topic, data, qos=qos, retain=retain)

    def _event(
        self, now: datetime, kind: str, level: str, message: str, data: dict[str, Any] | None = None
    ) -> None:
        if self.storage is not None:
            storage = self.storage
            self._guard(lambda: storage.log_event(now, kind, level, message, data or {}), f"record {kind}")

    @staticmethod
    def _guard(action: Callable[[], object], what: str) -> None:
        """Storage trouble (a full disk) is logged; alerting and control go on."""
        try:
            action()
        except Exception:
            log.exception("could not %s", what)


def _log_failure(task: asyncio.Task[None]) -> None:
    """A re-plan that broke is said out loud (and the next one tries again), never swallowed."""
    if not task.cancelled() and task.exception() is not None:
        log.error("re-plan failed", exc_info=task.exception())
