"""A simulated air-to-water heat pump with an SG Ready input, for the twin (``hems demo --drivers``).

It heats a buffer tank that feeds floor heating: the house draws heat from the tank in proportion to
how cold it is outside (``ua_kw_per_k`` × (21 °C − outdoor)), the compressor puts ``heat_kw`` in
while it runs and takes ``p_el_w`` from its circuit. Its controller keeps the tank between set
points, and the two SG Ready contacts (A, B: `devices.appliances.drivers.sgready`) move them:

| state | A | B | tank: starts below | stops at |
|---|---|---|---|---|
| 1 block | on | off | 35 °C (frost and comfort guard only) | 40 °C |
| 2 normal | off | off | 45 °C | 50 °C |
| 3 boost | off | on | 50 °C | 55 °C |
| 4 force | on | on | 60 °C | 60 °C |

Each contact is a `devices.simulated.relays.Load` (`Contact`) behind a simulated relay: dry contacts,
so the relay itself meters 0 W. Times are aware UTC; temperatures °C; powers W.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from devices.appliances.device import DeviceStatus, Need

SET_POINTS = {1: (35.0, 40.0), 2: (45.0, 50.0), 3: (50.0, 55.0), 4: (60.0, 60.0)}  #: (start below, stop at)
STATES = {(True, False): 1, (False, False): 2, (False, True): 3, (True, True): 4}
INDOOR_C = 21.0
STEP_S = 60.0  #: the tank is integrated in steps of at most this [s]
LOOK_AHEAD_S = 3600.0  #: how far `next_change` looks [s]


class SimHeatPump:
    """The heat pump and its tank (see the module docstring)."""

    kind = "relay"

    def __init__(
        self,
        appliance_id: str,
        circuit: str,
        line: str,
        outdoor_c: Callable[[datetime], float],
        *,
        p_el_w: float = 2000.0,
        heat_kw: float = 6.0,
        ua_kw_per_k: float = 0.08,
        tank_kwh_per_k: float = 0.35,
        tank_c: float = 48.0,
    ) -> None:
        self.id, self.circuit, self.line = appliance_id, circuit, line
        self.outdoor_c = outdoor_c
        self.p_el_w, self.heat_kw, self.ua_kw_per_k = p_el_w, heat_kw, ua_kw_per_k
        self.tank_kwh_per_k = tank_kwh_per_k
        self.tank_c = tank_c
        self.contacts = {"a": False, "b": False}
        self.running = False
        self.coldest_c = tank_c  #: the tank's lowest temperature so far (tests, the TUI)
        self.run_s = {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0}  #: compressor seconds per SG state
        self.state_s = {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0}  #: seconds in each SG state
        self._last: datetime | None = None

    @property
    def sg_state(self) -> int:
        return STATES[(self.contacts["a"], self.contacts["b"])]

    def advance(self, t: datetime) -> None:
        """Integrate the tank up to ``t``, the controller deciding at every step."""
        if self._last is None or t <= self._last:
            self._last = t if self._last is None else self._last
            self._control()
            return
        left = (t - self._last).total_seconds()
        now = self._last
        while left > 1e-9:
            dt = min(left, STEP_S)
            self.tank_c = self._tank_after(self.tank_c, self.running, now, dt)
            self.coldest_c = min(self.coldest_c, self.tank_c)
            if self.running:
                self.run_s[self.sg_state] += dt
            self.state_s[self.sg_state] += dt
            left -= dt
            now = datetime.fromtimestamp(now.timestamp() + dt, t.tzinfo)
            self._control()
        self._last = t

    def _tank_after(self, tank_c: float, running: bool, now: datetime, dt: float) -> float:
        """The tank's temperature ``dt`` seconds after ``now`` [°C]: the compressor's heat in (while
        ``running``), the floor heating's draw out."""
        demand_kw = max(self.ua_kw_per_k * (INDOOR_C - self.outdoor_c(now)), 0.0)
        heat_kw = self.heat_kw if running else 0.0
        return tank_c + (heat_kw - demand_kw) * dt / 3600.0 / self.tank_kwh_per_k

    def _control(self) -> None:
        start_below, stop_at = SET_POINTS[self.sg_state]
        if self.running and self.tank_c >= stop_at:
            self.running = False
        elif not self.running and self.tank_c < start_below:
            self.running = True

    def set_contact(self, now: datetime, contact: str, closed: bool) -> None:
        self.advance(now)
        self.contacts[contact] = closed
        self._control()

    # what the twin asks of an appliance
    def power_w(self, t: datetime) -> float:
        self.advance(t)
        return self.p_el_w if self.running else 0.0

    def need(self, now: datetime) -> Need | None:
        return None  # SG Ready: the box moves its set points, it asks for nothing

    def status(self, now: datetime) -> DeviceStatus:
        p = self.power_w(now)
        return DeviceStatus(self.running, p, f"SG {self.sg_state}, tank {self.tank_c:.1f} °C", None)

    def next_change(self, now: datetime) -> datetime | None:
        """When the controller next starts or stops the compressor by itself, at the states' set
        points and the outdoor temperature as they are (None: not within an hour). The instant is
        on `advance`'s own step grid, so stepping the twin to it flips the compressor there."""
        self.advance(now)
        assert self._last is not None
        t, tank, running = self._last, self.tank_c, self.running
        start_below, stop_at = SET_POINTS[self.sg_state]
        for _ in range(int(LOOK_AHEAD_S // STEP_S)):
            tank = self._tank_after(tank, running, t, STEP_S)
            t = datetime.fromtimestamp(t.timestamp() + STEP_S, t.tzinfo)
            if (running and tank >= stop_at) or (not running and tank < start_below):
                return t
        return None


class Contact:
    """One SG Ready input behind a relay (a `relays.Load`): closing it sets the heat pump's contact."""

    def __init__(self, pump: SimHeatPump, contact: str) -> None:
        self.pump, self.contact = pump, contact

    def switch(self, now: datetime, on: bool) -> None:
        self.pump.set_contact(now, self.contact, on)

    def power_w(self, now: datetime) -> float:
        return 0.0  # a dry contact: the relay meters nothing
