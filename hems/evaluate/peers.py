"""The twin's EV behind a simulated OCPP charge point, in an evaluation whose clock jumps.

The charge point (`devices.simulated.chargepoint`, the `ocpp` package's ChargePoint) talks to the
box's real central system over a real websocket on localhost, and follows the evaluation's clock:
it meters when the runner steps it (`ChargePointPeer.tick`), not every real second. Between two
instants the runner lets the websocket exchange finish (`Settler.settle`: every message sent has
been answered, and every task they started has ended) before it moves the clock, so the box and
the charger agree at every instant as they would in real time.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

CONNECT_S = 10.0  #: the charge point must have booted within this (real time) [s]
WAIT_S = 0.0005  #: how long a look waits while an exchange is in flight [s]
FREE_TURNS = 64  #: looks that do not wait (a Modbus exchange on localhost needs a few turns)
SETTLE_S = 10.0  #: an exchange that has not ended by then (real time) is given up on [s]
QUIET_S = 0.02  #: after the boot, no task started or ended for this long: the exchanges are over [s]


class ChargePointPeer:
    """Twin ``device`` (the EV) behind a simulated charge point speaking to the box's [ocpp] server."""

    def __init__(self, device: Any, appliance: Any, port: int, now: Any) -> None:
        self.device, self.appliance, self.port, self.now = device, appliance, port, now
        self.meter: Any = None
        self.state: dict[str, Any] = {}  #: what the simulated charger did (`chargepoint.Car`)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect and boot (the box's server must be listening)."""
        from devices.simulated.chargepoint import run_charge_point

        o = self.appliance.device
        self.device.set_power(self.now(), 0.0)  # nothing until the charger is told
        self.task = asyncio.get_running_loop().create_task(
            run_charge_point(
                f"ws://127.0.0.1:{self.port}",
                o.charge_point,
                o.password,
                car=self.device,
                now=self.now,
                meter_s=None,
                car_w=(self.appliance.power_kw or 11.0) * 1000.0,
                state=self.state,
                ready=self._ready,
                car_kwh=o.car_kwh,
            )
        )
        loop = asyncio.get_running_loop()
        until = loop.time() + CONNECT_S
        while self.meter is None:
            if self.task.done():
                self.task.result()  # its error, as it is
                raise ConnectionError(f"the simulated charge point {o.charge_point} ended before it booted")
            if loop.time() > until:
                raise TimeoutError(
                    f"the simulated charge point {o.charge_point} did not boot in {CONNECT_S:g} s"
                )
            await asyncio.sleep(0.005)

    def _ready(self, meter: Any) -> None:
        self.meter = meter

    def tick(self, now: datetime) -> None:
        """Meter now: the car come or gone, the limit followed, MeterValues sent (on the loop)."""
        if self.meter is not None:
            asyncio.get_running_loop().create_task(self.meter.step())

    def next_event(self, now: datetime) -> datetime | None:
        t = self.device.next_change(now)
        return t if t is not None and t > now else None

    def disconnect(self, clean: bool = False) -> None:
        if self.task is not None:
            self.task.cancel()


class Settler:
    """Waits until the tasks started since `baseline` (requests, answers, what they set off) have
    ended: the connections' own long-lived tasks are in the baseline."""

    def __init__(self) -> None:
        self.baseline: set[asyncio.Task[Any]] = set()
        self.given_up = 0  #: exchanges that did not end within SETTLE_S

    def mark(self) -> None:
        self.baseline = set(asyncio.all_tasks())

    async def mark_when_quiet(self) -> None:
        """Take the baseline once no task has started or ended for `QUIET_S` (real time): the boot's
        exchanges and what the box sent after it have ended, the connections' own tasks remain."""
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        until = loop.time() + SETTLE_S
        live: set[asyncio.Task[Any]] = set()
        since = loop.time()
        while loop.time() - since < QUIET_S and loop.time() < until:
            await asyncio.sleep(WAIT_S)
            now_live = {t for t in asyncio.all_tasks() if t is not me and not t.done()}
            if now_live != live:
                live, since = now_live, loop.time()
        self.mark()

    async def settle(self) -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + SETTLE_S
        me = asyncio.current_task()
        quiet, busy, turns = 0, True, 0
        while quiet < 2:  # two looks in a row with nothing in flight
            # every party is in this process, so a look is a turn of the loop (its sockets' reads
            # included): a Modbus exchange on localhost ends within a few; one still in flight after
            # `FREE_TURNS` waits a little per turn, without the GIL: the ocpp package checks each
            # message against its schema in a worker thread
            await asyncio.sleep(WAIT_S if busy and turns >= FREE_TURNS else 0)
            turns += 1
            busy = False
            in_flight = [
                t for t in asyncio.all_tasks() if t is not me and t not in self.baseline and not t.done()
            ]
            busy = bool(in_flight)
            quiet = 0 if busy else quiet + 1
            if busy and loop.time() > until:
                self.given_up += 1
                log.warning(
                    "evaluate: %d OCPP exchanges still open after %g s; going on", len(in_flight), SETTLE_S
                )
                self.baseline |= set(in_flight)
                return
