"""`ApplianceAgent`: an appliance's side of the box's protocol (docs/control.md), for any device.

Without a link (``link=None``) the agent is the appliance on its own, as if no box existed: it
starts when the household would and runs at full power.

Each `tick(now)` the agent reads what arrived (the box's ``status``, this appliance's ``schedule``,
``set`` and rejections on ``ack``), turns a new `Need` of its device into a ``request``, drives the
device, and says what it is doing on ``state``:

- with a schedule that answers its request it follows it to the slot: a program starts at the
  schedule's ``start``, an energy need runs at the slot's planned power, a battery aims at the
  slot's planned grid exchange (so the forecast's errors go into the battery, not the grid);
- when the box is silent — the box's status ``offline``, the request refused, or no schedule
  ``fallback_s`` after asking — it runs on its own: a program starts at the need's ``own_start``
  (when the household would have started it), an energy need at full power, a battery in
  self-consumption;
- whatever happens, a program starts at the latest moment that still meets its deadline, and an
  energy need goes to full power when it could no longer finish otherwise (unless the box has told
  it to stop: a fuse comes first);
- ``set`` commands hold it down (``stop``, ``limit``) until ``start``; a need the household wants
  at once (``boost``: "charge now") is announced but runs at once, its schedules refused.

A schedule for an earlier request, or one that would start a program outside its window, is
refused (``accepted: false`` with the reason). ``seq`` is the request's instant in epoch seconds
(kept increasing), so it grows across restarts of the appliance as the protocol asks. The agent
writes its own JSON: it is the protocol's second implementation, and the box's strict parser
checks it (tests/control).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from devices.appliances.device import ApplianceDevice, Need
from devices.appliances.link import Link

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """A schedule as the appliance keeps it."""

    version: int
    seq: int
    start: datetime | None
    slot_start: datetime
    slot_minutes: int
    power_kw: tuple[float, ...]
    battery_kw: tuple[float, ...] | None = None  #: a battery's own planned power per slot [kW]

    def power_at(self, t: datetime) -> float:
        """Planned power at ``t`` [kW] (0 outside the schedule)."""
        i = math.floor((t - self.slot_start).total_seconds() / (self.slot_minutes * 60))
        return self.power_kw[i] if 0 <= i < len(self.power_kw) else 0.0

    def battery_at(self, t: datetime) -> float | None:
        """A battery's own planned power at ``t`` [kW] (None: the schedule does not say)."""
        i = math.floor((t - self.slot_start).total_seconds() / (self.slot_minutes * 60))
        return self.battery_kw[i] if self.battery_kw and 0 <= i < len(self.battery_kw) else None

    def end(self) -> datetime:
        return self.slot_start + timedelta(minutes=self.slot_minutes * len(self.power_kw))

    def next_boundary(self, t: datetime) -> datetime | None:
        """The next slot boundary after ``t`` inside the schedule (where the power may change)."""
        step = self.slot_minutes * 60
        k = math.floor((t - self.slot_start).total_seconds() / step) + 1
        if k < 0:
            k = 0
        b = self.slot_start + timedelta(seconds=k * step)
        return b if b <= self.end() else None


def _iso(t: datetime) -> str:
    return t.isoformat()


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    t = datetime.fromisoformat(value)
    return t if t.tzinfo is not None else None


class ApplianceAgent:
    """Speaks for ``device`` on ``link`` under the box's site ``site`` (see the module docstring)."""

    def __init__(
        self,
        device: ApplianceDevice,
        link: Link | None,
        site: str,
        *,
        fallback_s: float = 300.0,
        heartbeat_s: float = 300.0,
    ) -> None:
        self.device = device
        self.site = site
        self.fallback_s = fallback_s
        self.heartbeat_s = heartbeat_s
        self.topic = f"hems/{site}/appliance/{device.id}"
        self.link: Link | None = None
        self.box_online: bool | None = None
        self.seq = 0
        self.need_key: str | None = None
        self.asked_at: datetime | None = None
        self.plan: Plan | None = None
        self.version = 0  #: newest schedule version seen
        self.own = False  #: running on its own (the box is silent)
        self.held: tuple[str, float | None] | None = None  #: ("stop", None) or ("limit", kw)
        self.events: list[tuple[datetime, str]] = []  #: what it did, for tests and the curious
        self.refusals: list[str] = []  #: the box's rejections of what it sent
        self._state: tuple[Any, ...] | None = None
        self._state_at: datetime | None = None
        self._rush: set[str] = set()  #: needs at full power to make their deadline
        if link is not None:
            self.connect(link)

    # --- the link ---------------------------------------------------------------------------------
    def connect(self, link: Link) -> None:
        """Use ``link`` (again): subscribe, and ask for the need in hand at the next tick."""
        self.link = link
        for leaf in ("schedule", "set", "ack"):
            link.subscribe(f"{self.topic}/{leaf}")
        link.subscribe(f"hems/{self.site}/status")
        self.box_online = None
        self.need_key = None  # a need in hand is asked for again
        self._state = None

    def disconnect(self, clean: bool = False) -> None:
        """Lose the link (``clean=False``: like a dropped Wi-Fi, the broker sends the last will)."""
        if self.link is not None:
            self.link.close(clean=clean)
        self.link = None
        self.box_online = None
        self.plan = None
        self.held = None

    def _send(self, leaf: str, doc: Any, retain: bool = False) -> None:
        if self.link is not None:
            payload = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
            self.link.publish(f"{self.topic}/{leaf}", payload, retain=retain)

    # --- the tick ---------------------------------------------------------------------------------
    def tick(self, now: datetime) -> None:
        """Read messages, ask for a new need, drive the device, report its state."""
        if self.link is not None:
            for msg in self.link.receive():
                try:
                    self._handle(msg.topic, msg.payload, now)
                except (ValueError, TypeError, KeyError) as exc:  # a bad message is ignored
                    log.warning("%s: ignored a message on %s: %s", self.device.id, msg.topic, exc)
        if getattr(self.device, "fault", None):  # a driver whose device does not follow
            self._faulted(now)
            return
        need = self.device.need(now)
        if need is not None and need.key != self.need_key:
            self._ask(need, now)
        if need is None:
            self.need_key = None
        self._decide_own(need, now)
        kind = self.device.kind
        if kind == "shiftable":
            self._drive_program(need, now)
        elif kind == "energy":
            self._drive_energy(need, now)
        else:
            self._drive_battery(now)
        self._report(now)

    def _faulted(self, now: datetime) -> None:
        """Say ``offline`` once: the box plans without the appliance until it follows again (then
        its need is asked for anew)."""
        if self._state != ("fault",):
            self._send("state", b"offline", retain=True)
            self.events.append((now, f"offline: {getattr(self.device, 'fault', '')}"))
            self._state, self.need_key, self.plan = ("fault",), None, None

    def _ask(self, need: Need, now: datetime) -> None:
        self.need_key, self.asked_at, self.plan, self.own = need.key, now, None, False
        if self.link is None:
            return
        self.seq = max(self.seq + 1, int(now.timestamp()))
        start = max(need.at, now)
        doc: dict[str, Any] = {
            "seq": self.seq,
            "kind": need.kind,
            "earliest_start": _iso(start),
            "latest_end": _iso(need.latest_end),
        }
        if need.kind == "shiftable":
            doc.update(slot_minutes=15, profile_kw=need.profile_kw(15))
        else:
            status = self.device.status(now)
            remaining = status.remaining_kwh if status.remaining_kwh is not None else need.energy_kwh
            hours = max((need.latest_end - start).total_seconds() / 3600.0, 1e-6)
            doc.update(
                energy_kwh=round(min(remaining, need.max_w / 1000.0 * hours), 4),
                min_kw=round(need.min_w / 1000.0, 4),
                max_kw=round(need.max_w / 1000.0, 4),
                interruptible=need.interruptible,
            )
        self._send("request", doc)
        self.events.append((now, f"request seq {self.seq}"))
        if need.boost:  # the household wants it now: the box hears of it, the plan is not waited for
            self.own = True
            self.events.append((now, "own start (the household asked for it now)"))

    def _decide_own(self, need: Need | None, now: datetime) -> None:
        """Fall back to its own behaviour when the box is silent."""
        if self.own or need is None or self.device.kind == "battery":
            return
        if self.plan is not None and self.plan.seq == self.seq:
            return
        asked = self.asked_at or now
        silent = (
            self.link is None or self.box_online is False or (now - asked).total_seconds() >= self.fallback_s
        )
        if silent:
            self.own = True
            self.events.append((now, "own start (the box is silent)"))

    def _drive_program(self, need: Need | None, now: datetime) -> None:
        status = self.device.status(now)
        if need is None or status.running:
            return
        start_at: datetime | None = None
        if self.plan is not None and self.plan.seq == self.seq and not self.own:
            start_at = self.plan.start
        elif self.own:
            start_at = need.own_start
        latest = need.latest_end - need.duration
        if now >= latest:
            start_at = now  # the last moment that still meets the deadline
        if start_at is not None and now >= start_at and self.held is None:
            self.device.start(now)
            self.events.append((now, "started"))

    def _drive_energy(self, need: Need | None, now: datetime) -> None:
        if need is None:
            self.device.set_power(now, 0.0)
            return
        kw: float | None
        if self.plan is not None and self.plan.seq == self.seq and not self.own:
            kw = self.plan.power_at(now)
        elif self.own:
            kw = None  # its own control: full power
        else:
            kw = 0.0  # waiting for the box's answer
        last_call = self._last_call(need, now)
        if need.key in self._rush or (last_call is not None and now >= last_call):
            self._rush.add(need.key)  # and it stays at full power until done
            kw = None  # only full power still makes it
        if self.held is not None:
            action, limit = self.held
            if action == "stop":
                kw = 0.0
            elif limit is not None:
                kw = min(need.max_w / 1000.0 if kw is None else kw, limit)
        self.device.set_power(now, kw)

    def _last_call(self, need: Need, now: datetime) -> datetime | None:
        """When an energy need must go to full power to finish by its deadline (with 2 % to spare,
        and a second for the clock's arithmetic); None when nothing is left to do."""
        remaining = self.device.status(now).remaining_kwh or 0.0
        if remaining <= 1e-6 or need.max_w <= 0:
            return None
        hours = remaining / (0.98 * need.max_w / 1000.0)
        return need.latest_end - timedelta(hours=hours, seconds=1)

    def _drive_battery(self, now: datetime) -> None:
        """A battery aims at the schedule's grid exchange; outside a schedule at zero
        (self-consumption). Load shedding has nothing to take from it."""
        kw: float | None = None
        planned: float | None = None
        if self.plan is not None and self.plan.slot_start <= now < self.plan.end():
            kw, planned = self.plan.power_at(now), self.plan.battery_at(now)
        if planned is not None:  # the plan's own direction too (`battery_guard`)
            self.device.set_power(now, kw, planned_kw=planned)  # type: ignore[call-arg]
        else:
            self.device.set_power(now, kw)

    # --- messages ---------------------------------------------------------------------------------
    def _handle(self, topic: str, payload: bytes, now: datetime) -> None:
        if topic == f"hems/{self.site}/status":
            self.box_online = payload.strip() == b"online"
            return
        leaf = topic.rsplit("/", 1)[-1]
        if leaf == "schedule":
            self._on_schedule(payload, now)
        elif leaf == "set":
            doc = json.loads(payload)
            action = doc["action"]
            if action == "start":
                self.held = None
            elif action == "stop":
                self.held = ("stop", None)
            elif action == "limit":
                self.held = ("limit", float(doc["limit_kw"]))
            self.events.append((now, f"set {action}"))
        elif leaf == "ack":
            doc = json.loads(payload)
            if isinstance(doc, dict) and doc.get("source") == "hems":
                self.refusals.append(str(doc.get("reason")))
                if doc.get("rejected") == "request" and doc.get("seq") == self.seq:
                    self.own = True  # the box will not plan it
                    self.events.append((now, "own start (request refused)"))

    def _on_schedule(self, payload: bytes, now: datetime) -> None:
        if not payload.strip():  # the box withdrew the schedule
            if self.plan is not None:
                self.events.append((now, f"schedule {self.plan.version} withdrawn"))
            self.plan = None
            return
        doc = json.loads(payload)
        version = int(doc["version"])
        if version < self.version:
            return
        plan = Plan(
            version,
            int(doc["seq"]),
            _time(doc.get("start")),
            _time(doc["slot_start"]) or now,
            int(doc["slot_minutes"]),
            tuple(float(p) for p in doc["power_kw"]),
            tuple(float(p) for p in doc["battery_kw"]) if doc.get("battery_kw") else None,
        )
        self.version = version
        reason = self._refuse(plan, now)
        if reason:
            self._send("ack", {"version": version, "accepted": False, "reason": reason})
            self.events.append((now, f"refused schedule {version}: {reason}"))
            return
        if self.plan is None or self.plan.version != version:
            self.events.append((now, f"schedule {version}"))
        self.plan = plan
        self.own = False if not self.device.status(now).running else self.own
        self._send("ack", {"version": version})

    def _refuse(self, plan: Plan, now: datetime) -> str | None:
        if self.device.kind == "battery":
            return None
        if plan.seq != self.seq:
            return f"answers request {plan.seq}, not the current {self.seq}"
        need = self.device.need(now)
        if need is not None and need.boost:
            return "running now: the household asked for it at once"
        if self.device.kind == "shiftable" and need is not None and plan.start is not None:
            slack = timedelta(minutes=plan.slot_minutes)
            if plan.start + need.duration > need.latest_end + slack:
                return "the program would end after its latest_end"
        return None

    # --- state ------------------------------------------------------------------------------------
    def _report(self, now: datetime) -> None:
        if self.link is None:
            return
        st = self.device.status(now)
        key = (st.running, round(st.p_w, -1), st.program, self.held)
        due = self._state_at is None or (now - self._state_at).total_seconds() >= self.heartbeat_s
        if key == self._state and not due:
            return
        doc: dict[str, Any] = {"online": True, "running": st.running, "p_w": round(st.p_w, 1)}
        if st.program is not None:
            doc["program"] = st.program
        if st.remaining_kwh is not None:
            doc["remaining_kwh"] = round(st.remaining_kwh, 4)
        if st.soc_kwh is not None:
            doc["soc_kwh"] = round(st.soc_kwh, 4)
        self._send("state", doc, retain=True)
        self._state, self._state_at = key, now

    def next_event(self, now: datetime) -> datetime | None:
        """The next instant this agent may act by itself (for a fast-forwarding simulation)."""
        times = [self.device.next_change(now)]
        need = self.device.need(now)
        if need is not None and not self.own and self.asked_at is not None:
            times.append(self.asked_at + timedelta(seconds=self.fallback_s))
        if self.plan is not None:
            times.append(self.plan.next_boundary(now))
            if self.plan.start is not None:
                times.append(self.plan.start)
        if need is not None:
            if need.kind == "shiftable":
                times += [need.own_start, need.latest_end - need.duration]
            else:
                times.append(self._last_call(need, now))
        future = [t for t in times if t is not None and t > now]
        return min(future) if future else None
