"""The composition root: builds a daemon from a configuration, on real or simulated devices.

`hems run` and `hems demo` both come through here, so the demo exercises the same storage, cycle and
hooks as a household's box; only the device layer differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from hems.clock import Clock
from hems.config import HemsConfig
from hems.daemon import CycleHook, Daemon, Devices
from hems.errors import UsageError
from hems.snapshot import Snapshot, site_state
from hems.storage import SampleWriter, SchemaError, Storage, WriterSettings

log = logging.getLogger(__name__)


def real_devices(config: HemsConfig, clock: Clock, source: str = "config") -> Devices:
    """Drivers for the devices named in the configuration (not yet opened: see `open_devices`)."""
    devices = Devices()
    if config.meter is not None:
        from devices.han.reader import HanMeter

        devices.grid = HanMeter(config.meter, clock)
    metered = [c for c in config.circuit if c.meter is not None]
    if metered:
        from devices.modbus import ModbusConfigError, build_circuit_meters

        try:
            devices.circuits = list(build_circuit_meters(metered, clock))
        except ModbusConfigError as exc:
            raise UsageError(f"{source}: circuit: {exc}") from None
    return devices


def _all(devices: Devices) -> list[Any]:
    return [d for d in (devices.grid, *devices.circuits, devices.pv) if d is not None]


async def open_devices(devices: Devices) -> None:
    """Start the devices that run a reader of their own (the smart meter's serial thread)."""
    for device in _all(devices):
        starter = getattr(device, "start", None)
        if callable(starter):
            await starter()


async def close_devices(devices: Devices) -> None:
    """Stop readers and close ports and bus connections; a device that fails to close is logged."""
    for device in _all(devices):
        for name in ("stop", "close"):
            closer = getattr(device, name, None)
            if callable(closer):
                try:
                    result = closer()
                    if asyncio.iscoroutine(result):
                        await result
                except Exception as exc:
                    log.warning("closing %s: %s", getattr(device, "id", device), exc)
                break


def control_hooks(config: HemsConfig, storage: Storage | None, clock: Clock) -> list[CycleHook]:
    """Alert rules, control and MQTT publishing (hems.control), when that part is installed."""
    try:
        from hems.control import build_control
    except ImportError:
        return []
    return [build_control(config, storage, clock)]


def api_hooks(
    config: HemsConfig,
    storage: Storage | None,
    clock: Clock,
    state_file: Path | None,
    config_path: str | None = None,
) -> list[CycleHook]:
    """The household API ([api]), started and stopped with the daemon; FastAPI loads only then."""
    if config.api is None:
        return []
    if storage is None or state_file is None:
        log.warning("[api] needs the database and the live state file: the API is not started")
        return []
    from hems.api.server import ApiHook

    return [ApiHook(config, storage.path, state_file, clock.now, config_path)]


def build_daemon(
    config: HemsConfig,
    devices: Devices,
    clock: Clock,
    *,
    storage: Storage | None,
    timeout_s: float | None = None,
    state_file: Path | None = None,
    hooks: list[CycleHook] | None = None,
    on_snapshot: Callable[[Snapshot], None] | None = None,
    config_path: str | None = None,
) -> Daemon:
    writer = None
    if storage is not None:
        writer = SampleWriter(storage, WriterSettings.from_config(config.storage))
    return Daemon(
        devices,
        clock,
        cycle_s=config.site.cycle_seconds,
        timeout_s=timeout_s,
        storage=storage,
        writer=writer,
        hooks=(hooks if hooks is not None else control_hooks(config, storage, clock))
        + api_hooks(config, storage, clock, state_file, config_path),
        state_file=state_file,
        state_static=site_state(config),
        on_snapshot=on_snapshot,
    )


async def _watch(flag: threading.Event, stop: asyncio.Event) -> None:
    while not flag.is_set():
        await asyncio.sleep(0.1)
    stop.set()


def open_storage(path: str | Path, config: HemsConfig) -> Storage:
    try:
        return Storage.open(path, timezone=config.site.timezone)
    except SchemaError as exc:
        raise UsageError(str(exc)) from None
    except (OSError, sqlite3.DatabaseError) as exc:
        raise UsageError(f"{path}: cannot open the database: {exc}") from None


async def run_until_signalled(
    daemon: Daemon,
    *,
    start: datetime | None = None,
    until: datetime | None = None,
    stop_flag: threading.Event | None = None,
) -> int:
    """Run the daemon; SIGTERM/SIGINT (in the main thread) or ``stop_flag`` (from another thread:
    the demo's dashboard) stop it cleanly, and the writer flushes."""
    stop = asyncio.Event()
    watcher = asyncio.ensure_future(_watch(stop_flag, stop)) if stop_flag is not None else None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
    for hook in daemon.hooks:
        starter = getattr(hook, "start", None)
        if callable(starter):
            await starter()
    try:
        return await daemon.run(start=start, until=until, stop=stop)
    finally:
        if watcher is not None:
            watcher.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        for hook in daemon.hooks:
            closer = getattr(hook, "stop", None)
            if callable(closer):
                try:
                    await closer()
                except Exception as exc:
                    log.warning("stopping %s: %s", type(hook).__name__, exc)
