"""SG Ready heat pumps: two relay contacts (A, B) give four states, chosen from the day's prices.

| state | A | B | the heat pump |
|---|---|---|---|
| 1 block | on | off | stops heating (the grid company's lock; at most 2 h at a time by the label's rules) |
| 2 normal | off | off | runs as it would |
| 3 boost | off | on | heats a little more (raised set points) |
| 4 force | on | on | heats as much as it can (off unless ``force`` is allowed) |

`choose_state` (pure) boosts in the day's ``boost_hours`` cheapest hours and blocks in its
``block_hours`` dearest ones, within the household's comfort limits: never more than
``max_block_h`` in a row, at least ``min_gap_h`` of heating between two blocks, never blocked when
it is colder outside than ``no_block_below_c``. `SgReady` drives the two contacts through any two
relay `Actuator`s (a Shelly Plus 2PM's two channels, two Tasmota outputs) and reads them back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from devices.appliances.drivers.base import Actuator, Follow, Reading

State = Literal[1, 2, 3, 4]
CONTACTS: dict[int, tuple[bool, bool]] = {
    1: (True, False),
    2: (False, False),
    3: (False, True),
    4: (True, True),
}
NAMES = {1: "block", 2: "normal", 3: "boost", 4: "force"}


@dataclass(frozen=True)
class Comfort:
    """The household's limits (``[appliance.device]`` of an ``sg-ready`` appliance)."""

    boost_hours: float = 4.0
    block_hours: float = 4.0
    max_block_h: float = 2.0
    min_gap_h: float = 1.0
    no_block_below_c: float | None = -15.0
    force: bool = False

    @classmethod
    def of(cls, options: Any) -> Comfort:
        """The limits an ``sg-ready`` appliance's ``[appliance.device]`` options set."""
        return cls(options.boost_hours, options.block_hours, options.max_block_h, options.min_gap_h)


def block_clock(
    before: int, after: int, now: datetime, blocked_since: datetime | None, last_block_end: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """(blocked since, last block ended) once the state moves from ``before`` to ``after`` at ``now``:
    what `choose_state` needs to keep a block short and blocks apart."""
    if after == 1 and before != 1:
        return now, last_block_end
    if after != 1 and before == 1:
        return None, now
    return blocked_since, last_block_end


def choose_state(
    day_prices: list[float],
    slot: int,
    slot_minutes: int,
    comfort: Comfort,
    blocked_since: datetime | None,
    last_block_end: datetime | None,
    now: datetime,
    outdoor_c: float | None = None,
) -> State:
    """The state for ``slot`` of the local day whose import prices are ``day_prices``."""
    per_hour = 60 / slot_minutes
    ranked = sorted(range(len(day_prices)), key=lambda i: (day_prices[i], i))
    cheap = set(ranked[: round(comfort.boost_hours * per_hour)])
    dear = (
        set(ranked[len(ranked) - round(comfort.block_hours * per_hour) :])
        if comfort.block_hours > 0
        else set()
    )
    if slot in dear and day_prices[slot] > min(day_prices):
        cold = (
            outdoor_c is not None
            and comfort.no_block_below_c is not None
            and outdoor_c < comfort.no_block_below_c
        )
        too_long = blocked_since is not None and now - blocked_since >= timedelta(hours=comfort.max_block_h)
        too_soon = (
            blocked_since is None
            and last_block_end is not None
            and now - last_block_end < timedelta(hours=comfort.min_gap_h)
        )
        if not (cold or too_long or too_soon):
            return 1
    if slot in cheap and day_prices[slot] < max(day_prices):
        return 4 if comfort.force else 3
    return 2


@dataclass
class SgReady:
    """A heat pump's SG Ready input on two relays (see the module docstring)."""

    id: str
    a: Actuator
    b: Actuator
    comfort: Comfort
    confirm_s: float = 20.0
    state: State = 2
    blocked_since: datetime | None = None
    last_block_end: datetime | None = None
    born: datetime | None = None
    follow_a: Follow = field(init=False)
    follow_b: Follow = field(init=False)

    def __post_init__(self) -> None:
        self.follow_a = Follow(self.confirm_s, 300.0)
        self.follow_b = Follow(self.confirm_s, 300.0)

    def set_state(self, now: datetime, state: State) -> None:
        self.blocked_since, self.last_block_end = block_clock(
            self.state, state, now, self.blocked_since, self.last_block_end
        )
        self.state = state
        a, b = CONTACTS[state]
        for actuator, follow, on in ((self.a, self.follow_a, a), (self.b, self.follow_b, b)):
            actuator.command(now, 1.0 if on else 0.0)
            follow.command(now, 1.0 if on else 0.0)

    def poll(self, now: datetime) -> tuple[Reading | None, Reading | None]:
        self.born = self.born or now
        ra, rb = self.a.poll(now), self.b.poll(now)
        self.follow_a.check(now, ra, self.born)
        self.follow_b.check(now, rb, self.born)
        return ra, rb

    @property
    def fault(self) -> str | None:
        f = self.follow_a.fault or self.follow_b.fault
        return f"SG Ready contact {'A' if self.follow_a.fault else 'B'}: {f}" if f else None

    def problems(self) -> list[str]:
        return [*self.a.problems(), *self.b.problems()]
