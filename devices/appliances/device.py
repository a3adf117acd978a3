"""The device side of an appliance: what it needs, what it is doing, what it can be told to do.

An `ApplianceDevice` is the physical appliance (or the driver that talks to one: a Shelly relay,
an OCPP charge point, an SG Ready heat pump, a SunSpec inverter); the `ApplianceAgent`
(devices/appliances/agent.py) speaks the box's request/schedule/ack protocol on its behalf. The
digital twin's appliances (devices/simulated/appliances.py) implement this Protocol, and so will the
real drivers: the agent and the box do not know the difference.

Times are aware UTC; powers in the names' units (``_w`` watts, ``_kw`` kilowatts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, runtime_checkable

DeviceKind = Literal["shiftable", "energy", "battery"]


@dataclass(frozen=True)
class Need:
    """One thing the household asks of an appliance.

    ``kind`` "shiftable": run a program (``profile`` segments) once inside [at, latest_end);
    "energy": deliver ``energy_wh`` inside the window at 0 or ``min_w``..``max_w``.
    """

    appliance: str  #: the appliance's id
    key: str  #: unique per need: a new key is a new request
    kind: Literal["shiftable", "energy"]
    at: datetime  #: when the household asked (the earliest start)
    latest_end: datetime  #: wanted done by
    own_start: datetime  #: when the appliance starts by itself if no box answers
    profile: tuple[tuple[int, float], ...] = ()  #: (minutes, watts) segments of the program
    energy_wh: float = 0.0  #: [Wh]
    min_w: float = 0.0  #: lowest power when on [W] (an EV charger's 6 A)
    max_w: float = 0.0  #: [W]
    interruptible: bool = False  #: may be paused while it runs (load shedding)
    boost: bool = False  #: the household pressed "now": it runs at once whatever the box plans

    @property
    def duration(self) -> timedelta:
        """How long the program runs."""
        return timedelta(minutes=sum(m for m, _ in self.profile))

    @property
    def energy_kwh(self) -> float:
        """Energy the need takes [kWh]."""
        if self.kind == "shiftable":
            return sum(m * w for m, w in self.profile) / 60_000.0
        return self.energy_wh / 1000.0

    def profile_kw(self, slot_minutes: int = 15) -> list[float]:
        """The program's mean power in each slot after its start [kW] (what a request announces)."""
        out: list[float] = []
        edges: list[tuple[float, float]] = []
        t = 0.0
        for minutes, watts in self.profile:
            edges.append((t, watts))
            t += minutes
        total = t
        k = 0
        while k * slot_minutes < total:
            a, b = k * slot_minutes, min((k + 1) * slot_minutes, total)
            wh = 0.0
            for i, (start, watts) in enumerate(edges):
                end = edges[i + 1][0] if i + 1 < len(edges) else total
                wh += watts * max(0.0, min(b, end) - max(a, start)) / 60.0
            out.append(round(wh / slot_minutes * 60.0 / 1000.0, 4))
            k += 1
        return out


@dataclass(frozen=True)
class DeviceStatus:
    """What the appliance says about itself (the ``state`` message's content)."""

    running: bool
    p_w: float  #: present power [W] (a battery discharging: negative)
    program: str | None = None
    remaining_kwh: float | None = None  #: energy still needed of the current need [kWh]
    soc_kwh: float | None = None  #: a battery's stored energy [kWh]


@runtime_checkable
class ApplianceDevice(Protocol):
    """An appliance the agent can drive."""

    id: str
    kind: DeviceKind

    def need(self, now: datetime) -> Need | None:
        """The need in hand (asked, running or not yet done), None when there is nothing to do."""
        ...

    def start(self, now: datetime) -> None:
        """Start the program now (shiftable)."""
        ...

    def set_power(self, now: datetime, kw: float | None) -> None:
        """Run at ``kw`` from now on [kW] (energy: 0 pauses; battery: + charges, − discharges);
        None hands control back to the appliance itself (full power; a battery's self-consumption)."""
        ...

    def status(self, now: datetime) -> DeviceStatus: ...

    def next_change(self, now: datetime) -> datetime | None:
        """The next instant the appliance changes by itself (a program phase, a full tank, a new need),
        so a fast-forwarding simulation knows where to look; None: nothing foreseen."""
        ...


def battery_guard(want_w: Any, net_w: Any, planned_kw: float | None) -> Any:
    """A battery's power [W] (+ charging) after its aim's ``want_w``, given the rest of the house's
    net import ``net_w`` (floats or numpy arrays) and the plan's own battery power in the slot
    (``planned_kw``, None without one). The aim makes the forecast's errors go into the battery
    rather than the grid; this keeps them from going through the battery into the grid:

    - in a slot planned without charging it charges from surplus PV only, never from the grid (a
      load the box sheds for the capacity hour, or one smaller than forecast, is not made up for
      by charging: no new peak hour, no energy bought to be stored);
    - in a slot planned without discharging it discharges into the house only, never into the
      grid (less sun than forecast is not answered by selling stored energy at the export price);
    - in a slot planned with charging it charges no faster than planned from the grid: more sun (or
      less load) than forecast lowers the import instead of buying more to store (measured: a July
      month's plans, made with a PV forecast 8 % low, bought midday energy the sun then gave).
    """
    if planned_kw is None:
        return want_w
    surplus_w = _max(-net_w, 0.0)
    if planned_kw <= 1e-6:
        want_w = _min(want_w, surplus_w)
    else:
        want_w = _min(want_w, _max(planned_kw * 1000.0, surplus_w))
    if planned_kw >= -1e-6:
        want_w = _max(want_w, -_max(net_w, 0.0))
    return want_w


def _min(a: Any, b: Any) -> Any:
    """Element-wise minimum of floats or numpy arrays (no numpy needed here)."""
    return (a + b - abs(a - b)) / 2


def _max(a: Any, b: Any) -> Any:
    return (a + b + abs(a - b)) / 2
