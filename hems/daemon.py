"""The daemon cycle: read all devices → snapshot → store → hooks (rules, control, publish).

Every ``cycle_s`` seconds of the injected clock (aligned to multiples of the cycle), all devices are
read concurrently, each with a timeout and its own backoff (`hems.polling`). A failing device is
missing from that cycle's snapshot and named in ``snapshot.errors``; nothing blocks the cycle. The
snapshot goes to the batched storage writer, then to each hook in order (alert rules, control, MQTT
publishing); a hook that raises is logged and the cycle goes on. The cycle itself pets the systemd
watchdog, so a stuck loop gets the daemon restarted. The live state is written atomically to a small
JSON file (on the Pi under /run, which is RAM) for the dashboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from devices.natures import (
    CircuitMeter,
    CircuitReading,
    GridMeter,
    GridReading,
    PvInverter,
    PvReading,
)
from hems.clock import Clock
from hems.polling import PolledDevice, poll_all
from hems.snapshot import Snapshot, snapshot_to_dict
from hems.storage import SampleWriter, Storage
from hems.storage.channels import snapshot_values
from hems.systemd import Notifier

log = logging.getLogger(__name__)


class CycleHook(Protocol):
    """Something that acts on every snapshot (alert rules, control, MQTT). Must not block."""

    async def on_cycle(self, snapshot: Snapshot) -> None: ...


@dataclass
class Devices:
    grid: GridMeter | None = None
    circuits: list[CircuitMeter] = field(default_factory=list)
    pv: PvInverter | None = None


def align(t: datetime, cycle_s: float) -> datetime:
    """The first cycle instant at or after ``t`` (cycles are aligned to multiples of the cycle)."""
    ts = t.timestamp()
    aligned = -(-ts // cycle_s) * cycle_s
    return t + timedelta(seconds=aligned - ts)


class Daemon:
    def __init__(
        self,
        devices: Devices,
        clock: Clock,
        *,
        cycle_s: float = 10.0,
        timeout_s: float | None = None,
        storage: Storage | None = None,
        writer: SampleWriter | None = None,
        hooks: Sequence[CycleHook] = (),
        state_file: Path | None = None,
        state_static: dict[str, Any] | None = None,
        notifier: Notifier | None = None,
        on_snapshot: Callable[[Snapshot], None] | None = None,
    ) -> None:
        self.clock = clock
        self.cycle_s = cycle_s
        timeout = timeout_s if timeout_s is not None else 0.8 * cycle_s
        self.storage = storage
        self.writer = writer
        self.hooks = list(hooks)
        self.state_file = state_file
        self.state_static = state_static or {}
        self.notifier = notifier or Notifier()
        self.on_snapshot = on_snapshot
        self.cycles = 0
        self._hook_errors: dict[int, str] = {}
        self._meter_doc: dict[str, Any] | None = None
        self._storage_error: str | None = None  #: what stops storage now, said once

        def polled(device: Any) -> PolledDevice[Any]:
            return PolledDevice(device.id, device.read, timeout_s=timeout, cycle_s=cycle_s)

        self._grid_device = devices.grid
        self._grid = polled(devices.grid) if devices.grid else None
        self._circuits = [polled(c) for c in devices.circuits]
        self._pv = polled(devices.pv) if devices.pv else None
        self._all = [d for d in (self._grid, *self._circuits, self._pv) if d is not None]

    @property
    def device_health(self) -> dict[str, Any]:
        return {d.id: d.health for d in self._all}

    async def run_cycle(self, t: datetime) -> Snapshot:
        results = await poll_all(self._all, t)
        errors = {k: v for k, v in results.items() if isinstance(v, str)}
        grid = results.get(self._grid.id) if self._grid else None
        pv = results.get(self._pv.id) if self._pv else None
        snapshot = Snapshot(
            time=t,
            grid=grid if isinstance(grid, GridReading) else None,
            circuits=MappingProxyType(
                {c.id: r for c in self._circuits if isinstance(r := results[c.id], CircuitReading)}
            ),
            pv=pv if isinstance(pv, PvReading) else None,
            # what appliances last reported, heard by a hook (control's MQTT bridge)
            appliances=MappingProxyType(self._gather("appliance_states")),
            errors=MappingProxyType(errors),
        )
        self._store(snapshot)
        for hook in self.hooks:
            await self._run_hook(hook, snapshot)
        self._write_state(snapshot)
        if self.on_snapshot is not None:
            self.on_snapshot(snapshot)
        self.notifier.watchdog()
        self.cycles += 1
        return snapshot

    def _gather(self, method: str) -> dict[str, Any]:
        """Merge what every hook that has ``method`` contributes (``state``, ``channel_values``,
        ``appliance_states``); a hook that fails here is skipped for this cycle, never fatal."""
        merged: dict[str, Any] = {}
        for hook in self.hooks:
            contribute = getattr(hook, method, None)
            if callable(contribute):
                try:
                    merged.update(contribute())
                except Exception as exc:
                    log.debug("%s from %s failed: %s", method, type(hook).__name__, exc)
        return merged

    def _store(self, snapshot: Snapshot) -> None:
        if self.writer is None:
            return
        grid = snapshot.grid
        try:
            # the devices' values, and what hooks know per cycle (control: the slot's prices)
            values = {**snapshot_values(snapshot), **self._gather("channel_values")}
            self.writer.add(snapshot.time, values, self._frames(grid))
            if grid is not None and grid.meter_id:
                doc = {"meter_id": grid.meter_id, "meter_type": grid.meter_type}
                if doc != self._meter_doc and self.storage is not None:
                    self.storage.put_doc("meter", doc, snapshot.time)
                    self._meter_doc = doc
        except Exception as exc:  # a full disk must not stop reading and alerting
            self._storage_failed(exc)
            return
        if self._storage_error is not None:
            log.warning("storage: writing again; the cycles that waited are stored (%s)", self._storage_error)
            self._storage_error = None

    def _storage_failed(self, exc: Exception) -> None:
        """One line per change of trouble, not a traceback per cycle; cycles wait in memory."""
        error = f"{type(exc).__name__}: {exc}"
        if error != self._storage_error:
            waiting = self.writer.waiting if self.writer is not None else 0
            if isinstance(exc, sqlite3.Error | OSError):
                log.error(
                    "storage: cannot write (%s); %d cycles waiting in memory, retried every cycle",
                    exc,
                    waiting,
                )
            else:
                log.exception("storage: storing the cycle failed")
            self._storage_error = error

    def _frames(self, grid: GridReading | None) -> list[tuple[datetime, bytes]]:
        """Every frame the smart meter sent since the last cycle (a reader that keeps them hands them
        all over; otherwise the frame of this cycle's reading)."""
        drain = getattr(self._grid_device, "drain_frames", None)
        if callable(drain):
            return list(drain())
        return [(grid.time, grid.raw)] if grid is not None and grid.raw else []

    async def _run_hook(self, hook: CycleHook, snapshot: Snapshot) -> None:
        try:
            await asyncio.wait_for(hook.on_cycle(snapshot), timeout=max(self.cycle_s, 1.0))
            self._hook_errors.pop(id(hook), None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            if self._hook_errors.get(id(hook)) != message:  # log each new failure once
                log.error("%s failed: %s", type(hook).__name__, message, exc_info=exc)
                self._hook_errors[id(hook)] = message

    def _write_state(self, snapshot: Snapshot) -> None:
        if self.state_file is None:
            return
        state = {**snapshot_to_dict(snapshot), **self.state_static, **self._gather("state")}
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        try:
            tmp.write_text(json.dumps(state, default=str), encoding="utf-8")
            os.replace(tmp, self.state_file)
        except OSError as exc:
            log.warning("cannot write the state file %s: %s", self.state_file, exc)

    async def run(
        self,
        *,
        start: datetime | None = None,
        until: datetime | None = None,
        stop: asyncio.Event | None = None,
    ) -> int:
        """Run cycles from ``start`` (default: now, aligned) until ``until`` (exclusive) or ``stop``.
        Flushes the writer on the way out; returns the number of cycles run."""
        stop = stop or asyncio.Event()
        t = align(start or self.clock.now(), self.cycle_s)
        self.notifier.ready(f"cycling every {self.cycle_s:g} s")
        stopper = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set() and (until is None or t < until):
                sleeper = asyncio.ensure_future(self.clock.sleep_until(t))
                await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if stop.is_set():
                    sleeper.cancel()
                    break
                await self.run_cycle(t)
                t += timedelta(seconds=self.cycle_s)
        finally:
            stopper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopper
            self.notifier.stopping()
            if self.writer is not None:
                try:
                    self.writer.close()
                except (sqlite3.Error, OSError) as exc:
                    log.error(
                        "storage: %d cycles could not be written at the stop and are lost (%s)",
                        self.writer.waiting,
                        exc,
                    )
        return self.cycles
