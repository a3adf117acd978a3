"""The smart meter as the daemon sees it: an async `GridMeter` fed by a serial thread.

`HanMeter` runs `read_frames` in a thread (the asyncio loop never blocks on the port) and keeps
the newest reading. `read()` returns it as a `GridReading`, completed with what the meter sends
less often: a 2.5-s list 1 carries only P+, so currents, voltages and ids come from the latest
list 2 (at most ``max_age_s`` old) and the cumulative energy registers from the latest hourly list.
Every raw frame is kept for storage (`drain_frames`), so a decoder fix can re-decode history.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from devices.han.config import MeterConfig
from devices.han.decode import COUNTRY_TZ, MeterReading
from devices.han.serial_io import ReaderStats, read_frames
from devices.natures import Clock, DeviceError, GridReading, UtcClock

log = logging.getLogger(__name__)

_INSTANT = (
    "p_import_w", "p_export_w", "q_import_var", "q_export_var", "i_l1_a", "i_l2_a", "i_l3_a",
    "u_l1_v", "u_l2_v", "u_l3_v", "meter_id", "meter_type", "list_id",
)  # fmt: skip
ENERGY_MAX_AGE = timedelta(hours=2)  #: the hourly register stays valid this long
MAX_FRAMES_KEPT = 2_000  #: raw frames waiting for storage (~1.5 h of Aidon frames)


class HanMeter:
    """`GridMeter` on a HAN (M-Bus) or P1 port. Start it once; `read()` never blocks on I/O."""

    def __init__(self, config: MeterConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.id = config.id
        self.clock = clock or UtcClock()
        self.stats = ReaderStats()
        self.timezone = config.timezone or COUNTRY_TZ.get(config.country, "Europe/Oslo")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._arrived: asyncio.Event | None = None
        self._newest: tuple[datetime, MeterReading] | None = None
        self._full: tuple[datetime, GridReading] | None = None  #: latest list 2/3 or telegram
        self._energy: tuple[datetime, GridReading] | None = None  #: latest fresh hourly register
        self._frames: deque[tuple[datetime, bytes]] = deque(maxlen=MAX_FRAMES_KEPT)

    async def start(self) -> None:
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._arrived = asyncio.Event()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"meter-{self.id}", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5.0)
            self._thread = None

    async def __aenter__(self) -> HanMeter:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for received, result in read_frames(self.config, self._stop, self.clock, self.stats):
                    if isinstance(result, MeterReading):
                        self._keep(received, result)
            except Exception as exc:  # a reader bug must not leave the meter silently dead
                log.exception("meter %s: reader failed, restarting", self.id)
                self.stats.last_error = f"reader failed: {exc!r}"
                self._stop.wait(self.config.reopen_delay_s)

    def _keep(self, received: datetime, reading: MeterReading) -> None:
        grid = reading.to_grid_reading(received, self.timezone)
        with self._lock:
            self._frames.append((received, reading.raw))
            self._newest = (received, reading)
            if grid.meter_id is not None or grid.u_l1_v is not None or grid.i_l1_a is not None:
                self._full = (received, grid)
            if grid.e_import_kwh is not None:
                self._energy = (received, grid)
        if self._loop is not None and self._arrived is not None:
            with contextlib.suppress(RuntimeError):  # loop closed while the thread finishes
                self._loop.call_soon_threadsafe(self._arrived.set)

    def drain_frames(self) -> list[tuple[datetime, bytes]]:
        """Raw frames received since the last call [(reception time UTC, bytes)], for storage."""
        with self._lock:
            frames = list(self._frames)
            self._frames.clear()
        return frames

    def latest(self) -> GridReading | None:
        """The newest reading completed from the latest full and hourly lists; None if none yet."""
        with self._lock:
            newest, full, energy = self._newest, self._full, self._energy
        if newest is None:
            return None
        received, reading = newest
        grid = reading.to_grid_reading(received, self.timezone)
        fill: dict[str, Any] = {}
        if full is not None and received - full[0] <= timedelta(seconds=self.config.max_age_s):
            fill.update({k: getattr(full[1], k) for k in _INSTANT if getattr(grid, k) is None})
        if energy is not None and grid.e_import_kwh is None and received - energy[0] <= ENERGY_MAX_AGE:
            fill.update(e_import_kwh=energy[1].e_import_kwh, e_export_kwh=energy[1].e_export_kwh)
        return dataclasses.replace(grid, **fill) if fill else grid

    async def read(self) -> GridReading:
        """The newest reading; DeviceError when no valid frame arrived within ``max_age_s``."""
        await self.start()
        grid = self.latest()
        now = self.clock.now()
        if grid is None or (now - grid.time).total_seconds() > self.config.max_age_s:
            raise DeviceError(self._why_none(grid, now))
        return grid

    async def wait_reading(self, timeout_s: float, complete: bool = True) -> GridReading:
        """Wait for a reading (``complete``: one with more than list 1's power, if one comes)."""
        await self.start()
        assert self._arrived is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            grid = self.latest()
            if grid is not None and (not complete or grid.meter_id is not None or grid.u_l1_v is not None):
                return grid
            remaining = deadline - loop.time()
            if remaining <= 0:
                if grid is not None:
                    return grid
                raise DeviceError(self._why_none(None, self.clock.now()))
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    def _why_none(self, grid: GridReading | None, now: datetime) -> str:
        s = self.stats
        where = f"meter on {self.config.port}"  # the cycle's log puts the device id in front
        if grid is not None:
            return f"{where}: last valid frame {(now - grid.time).total_seconds():.0f} s ago ({s.last_error})"
        if s.opens == 0:
            return f"{where}: {s.last_error or 'port not opened yet'}"
        bad = ", ".join(f"{n} {reason}" for reason, n in s.frames_bad.items()) or "no frames"
        return f"{where}: no valid frame yet ({s.bytes_read} bytes read at {s.settings}; {bad})"


async def read_once(config: MeterConfig, timeout_s: float, clock: Clock | None = None) -> GridReading:
    """One reading for `hems read --once`: waits up to ``timeout_s`` [s] for a full list."""
    meter = HanMeter(config, clock)
    try:
        return await meter.wait_reading(timeout_s, complete=True)
    finally:
        await meter.stop()
