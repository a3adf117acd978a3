"""Load shedding: pause or limit flexible loads while an overload warning is on, resume when safe.

Opt-in per appliance (``sheddable = true``), lowest ``priority`` first, for a main fuse only loads on
its line (a three-phase load counts with the share of its power that line carries); an appliance that is not
``interruptible`` (in its config, or its current request says so) is never touched. A "limit"
appliance (EV charger) is turned down to what the situation needs, not below ``min_kw`` (then it is
stopped). Resuming waits until no warning has asked for shedding for ``resume_after_s`` and then
brings loads back one at a time, highest priority first, ``resume_step_s`` apart, so the load that
caused the warning does not come back all at once.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from hems.alerts.engine import Condition
from hems.control.book import ScheduleBook
from hems.control.config import ApplianceConfig
from hems.control.scenario import power_at
from hems.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class ShedAction:
    """A command for one appliance."""

    appliance: str
    action: str  #: "stop" | "limit" | "start" (resume)
    limit_kw: float | None  #: with "limit" [kW]
    reason: str


def line_share(appliance_line: str, fuse_line: str | None, network: str = "TN") -> float:
    """How much of an appliance's power shows on ``fuse_line``'s current, as a share of P/V [-]:
    1 for a load on that line (TN) or between it and another (IT), 1/3 (TN) or 1/√3 (IT) for a
    three-phase load, 0 for a load elsewhere; 1 when the condition is not a line's (a circuit, the
    capacity hour) or on a single-phase site."""
    if fuse_line is None or network == "1P":
        return 1.0
    if appliance_line == "3P":
        return 1.0 / 3.0 if network == "TN" else 1.0 / math.sqrt(3.0)
    return 1.0 if fuse_line in appliance_line else 0.0


class Shedder:
    def __init__(
        self,
        appliances: Iterable[ApplianceConfig],
        resume_after_s: float = 300.0,
        resume_step_s: float = 60.0,
        settle_s: float = 20.0,
        network: str = "TN",
    ) -> None:
        self.network = network
        self.config = {a.id: a for a in appliances if a.sheddable}
        self.resume_after_s = resume_after_s
        self.resume_step_s = resume_step_s
        self.settle_s = settle_s  #: after acting, wait this long before shedding more [s]
        self._acted: datetime | None = None
        self.shed: dict[str, ShedAction] = {}  #: appliances held down now
        self._calm_since: datetime | None = None
        self._last_resume: datetime | None = None

    def candidates(self, interruptible: Mapping[str, bool]) -> list[ApplianceConfig]:
        """Sheddable appliances that may be interrupted, lowest priority first."""
        out = [a for a in self.config.values() if interruptible.get(a.id, a.interruptible)]
        return sorted(out, key=lambda a: (a.priority, a.id))

    def decide(
        self,
        now: datetime,
        conditions: Iterable[Condition],
        power_kw: Mapping[str, float],
        interruptible: Mapping[str, bool] | None = None,
        urgent: Collection[str] = (),
    ) -> list[ShedAction]:
        """Actions for this cycle.

        ``conditions``: the active alert conditions (``shed_kw`` > 0 asks for shedding);
        ``power_kw``: present (or planned) power of each appliance [kW];
        ``interruptible``: per-appliance override from its current request;
        ``urgent``: appliances that would miss their deadline if turned down: spared for the
        capacity hour and the contract (money), not for a breaker (safety).
        """
        asking = [c for c in conditions if c.level >= 1 and c.shed_kw > 0]
        safety = any(c.kind == "breaker" for c in asking)
        released = [aid for aid in sorted(self.shed) if aid in urgent and not safety]
        for aid in released:  # held for money, now needed at full power to meet its deadline
            del self.shed[aid]
        if released:
            return [ShedAction(aid, "start", None, "needed to meet its deadline") for aid in released]
        if not asking:
            return self._resume(now)
        self._calm_since = None
        if self._acted is not None and (now - self._acted).total_seconds() < self.settle_s:
            return []  # let the meters see the last action before shedding more
        actions: list[ShedAction] = []
        pool = self.candidates(interruptible or {})
        for cond in sorted(asking, key=lambda c: -c.level):
            need = cond.shed_kw
            line = cond.key.rsplit(".", 1)[1] if cond.key.startswith("breaker.main.") else None
            for a in pool:
                if need <= 0:
                    break
                if cond.circuit is not None and a.circuit != cond.circuit:
                    continue
                share = line_share(a.line, line, self.network)  # a main fuse: its line only
                if share <= 0 or (cond.kind != "breaker" and a.id in urgent):
                    continue
                p = power_kw.get(a.id, 0.0)
                held = self.shed.get(a.id)
                if held is not None and held.action == "stop":
                    continue
                if held is not None and held.limit_kw is not None:
                    p = min(p, held.limit_kw)  # already limited: only the rest can go
                if p <= 0:
                    continue
                if a.shed_action == "limit" and a.min_kw < p:
                    target = max(p - need / share, a.min_kw)
                    act = ShedAction(a.id, "limit", round(target, 3), cond.message)
                    need -= (p - target) * share
                else:
                    act = ShedAction(a.id, "stop", None, cond.message)
                    need -= p * share
                self.shed[a.id] = act
                actions.append(act)
        if actions:
            self._acted = now
        return actions

    def _resume(self, now: datetime) -> list[ShedAction]:
        if not self.shed:
            self._calm_since = None
            return []
        if self._calm_since is None:
            self._calm_since = now
        if (now - self._calm_since).total_seconds() < self.resume_after_s:
            return []
        if self._last_resume is not None and (now - self._last_resume).total_seconds() < self.resume_step_s:
            return []
        best = max(self.shed, key=lambda aid: (self.config[aid].priority, aid))
        del self.shed[best]
        self._last_resume = now
        return [ShedAction(best, "start", None, "overload over: resuming")]


def present_power_kw(
    appliances: Mapping[str, ApplianceConfig], book: ScheduleBook, snapshot: Snapshot
) -> dict[str, float]:
    """Present power of each appliance [kW]: reported, else planned now, else nominal if running."""
    out = {}
    schedules = book.schedules()
    for aid, cfg in appliances.items():
        st = snapshot.appliances.get(aid) or book.entries[aid].state
        s = schedules.get(aid)
        if st is not None and st.p_w is not None:
            out[aid] = st.p_w / 1000.0
        elif s is not None:
            out[aid] = power_at(s.slot_start, s.slot_minutes, s.power_kw, snapshot.time)
        elif st is not None and st.running:
            out[aid] = cfg.power_kw or 0.0
        else:
            out[aid] = 0.0
    return out


def behind(book: ScheduleBook, now: datetime, margin: float = 0.9, last_s: float = 900.0) -> set[str]:
    """Energy appliances that need (nearly) full power from now on to meet their deadline — what
    they still lack (``remaining_kwh`` on ``state``) ≥ ``margin`` × max_kw × hours left — or that
    still lack anything in their window's last ``last_s``."""
    out = set()
    for aid, e in book.entries.items():
        req, st = e.request, e.state
        if req is None or req.kind != "energy" or req.latest_end is None or req.max_kw is None:
            continue
        left = st.remaining_kwh if st is not None and st.remaining_kwh is not None else req.energy_kwh
        hours = max((req.latest_end - now).total_seconds() / 3600.0, 0.0)
        if (
            left is not None
            and left > 0.001
            and (left >= margin * req.max_kw * hours or hours * 3600 <= last_s)
        ):
            out.add(aid)
    return out


def interruptible(book: ScheduleBook) -> dict[str, bool]:
    """Per-appliance restriction from the current request (it can only forbid, never allow)."""
    out = {}
    for aid, e in book.entries.items():
        if e.request is not None and e.request.interruptible is not None:
            out[aid] = e.request.interruptible and book.config[aid].interruptible
    return out
