"""`hems read --config FILE --once --json`: read every configured device once and print a snapshot.

Output (``--json``)::

    {"time": "2026-03-01T08:00:00+00:00",
     "meter": {...GridReading fields...} | {"error": "..."} | null,     # null: no [meter] section
     "circuits": {"kitchen": {"u_v": 230.1, "i_a": 7.8, "p_w": 1801.2, "e_import_kwh": 1234.56, ...},
                  "attic": {"error": "circuit attic: unit 3 on /dev/ttyUSB0: no answer within 1 s"}}}

Fields a device did not report are left out (unknown is not zero); a three-phase meter adds its
per-line values (``i_l1_a``, ``u_l1_v``, ``p_l1_w`` ...). Devices are read concurrently; each circuit
gets at most one cycle (``[site].cycle_seconds``), the smart meter ``--meter-timeout`` seconds.
Without ``--once`` it reads again every cycle until interrupted (one JSON line per cycle).
Exit status 0 when a snapshot was printed, even if some devices failed (their errors are in it);
with ``--once``, 1 when every configured device failed (the snapshot is still printed, and one line
on stderr says so), so a script can tell "nothing could be read" from a reading.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hems.errors import UsageError

if TYPE_CHECKING:
    from devices.han.config import MeterConfig
    from devices.natures import CircuitMeter
    from hems.clock import Clock
    from hems.config import HemsConfig

NAME = "read"
HELP = "Read every configured device (smart meter, circuit meters) and print a snapshot."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="hems.toml with [meter] and [[circuit]] sections")
    parser.add_argument("--once", action="store_true", help="one snapshot, then exit (default: every cycle)")
    parser.add_argument("--json", action="store_true", help="print JSON (default: a table)")
    parser.add_argument(
        "--meter-timeout",
        type=float,
        default=12.0,
        metavar="S",
        help="seconds to wait for the smart meter's next frame (default 12)",
    )


def reading_dict(reading: object) -> dict[str, Any]:
    """A reading dataclass as JSON-ready fields; None (unknown) and raw frames left out."""
    out: dict[str, Any] = {}
    for name in reading.__dataclass_fields__:  # type: ignore[attr-defined]
        value = getattr(reading, name)
        if name == "raw" or value is None:
            continue
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


async def read_grid(meter: MeterConfig | None, timeout_s: float, clock: Clock) -> dict[str, Any] | None:
    """The smart meter's reading through the HAN/P1 reader, ``{"error": ...}``, or None if unconfigured."""
    if meter is None:
        return None
    from devices.natures import DeviceError

    try:
        from devices.han.reader import read_once
    except ImportError as exc:
        return {"error": f"smart-meter reader not available in this build ({exc})"}
    try:
        reading = await asyncio.wait_for(read_once(meter, timeout_s, clock), timeout_s + 1.0)
    except DeviceError as exc:
        return {"error": str(exc)}
    except TimeoutError:
        return {"error": f"meter on {meter.port}: no reading within {timeout_s:g} s"}
    except Exception as exc:  # one device must not take the snapshot down
        return {"error": f"meter on {meter.port}: {type(exc).__name__}: {exc}"}
    return reading_dict(reading)


async def read_circuit(meter: CircuitMeter, budget_s: float) -> dict[str, Any]:
    """One circuit meter's reading, or ``{"error": ...}``; never longer than ``budget_s`` [s]."""
    from devices.natures import DeviceError

    try:
        return reading_dict(await asyncio.wait_for(meter.read(), budget_s))
    except DeviceError as exc:
        return {"error": str(exc)}
    except TimeoutError:
        return {"error": f"circuit {meter.id}: no reading within the {budget_s:g} s cycle"}


async def snapshot(
    cfg: HemsConfig, meters: list[CircuitMeter], clock: Clock, meter_timeout_s: float
) -> dict[str, Any]:
    """Read the smart meter and every circuit concurrently: the ``hems read`` JSON document."""
    time = clock.now()
    budget = cfg.site.cycle_seconds
    grid, *circuits = await asyncio.gather(
        read_grid(cfg.meter, meter_timeout_s, clock), *(read_circuit(m, budget) for m in meters)
    )
    return {
        "time": time.isoformat(),
        "meter": grid,
        "circuits": {m.id: c for m, c in zip(meters, circuits, strict=True)},
    }


def _table(snap: dict[str, Any]) -> str:
    lines = [f"time  {snap['time']}"]
    grid = snap["meter"]
    if grid is None:
        lines.append("meter not configured")
    elif "error" in grid:
        lines.append(f"meter ERROR {grid['error']}")
    else:
        lines.append(f"meter import {grid.get('p_import_w', '-')} W  export {grid.get('p_export_w', '-')} W")
    lines.append(f"{'circuit':<16}{'P W':>10}{'I A':>9}{'U V':>8}{'E kWh':>12}")
    for cid, c in snap["circuits"].items():
        if "error" in c:
            lines.append(f"{cid:<16}ERROR {c['error']}")
            continue
        cells = [c.get(k) for k in ("p_w", "i_a", "u_v", "e_import_kwh")]
        p, i, u, e = ("-" if v is None else f"{v:g}" for v in cells)
        lines.append(f"{cid:<16}{p:>10}{i:>9}{u:>8}{e:>12}")
    return "\n".join(lines)


def failed_devices(snap: dict[str, Any]) -> tuple[int, int]:
    """(failed, configured) devices of a snapshot."""
    devices = ([snap["meter"]] if snap["meter"] is not None else []) + list(snap["circuits"].values())
    return sum(1 for d in devices if "error" in d), len(devices)


async def _main(args: argparse.Namespace, cfg: HemsConfig) -> int:
    from devices.modbus import ModbusConfigError, build_circuit_meters
    from hems.clock import SystemClock

    clock = SystemClock()
    try:
        meters = build_circuit_meters(cfg.circuit, clock)
    except ModbusConfigError as exc:
        raise UsageError(f"{args.config}: circuit: {exc}") from None
    try:
        while True:
            start = clock.now()
            snap = await snapshot(cfg, list(meters), clock, args.meter_timeout)
            print(json.dumps(snap, ensure_ascii=False) if args.json else _table(snap), flush=True)
            if args.once:
                failed, configured = failed_devices(snap)
                if configured and failed == configured:
                    print(f"hems read: every device failed ({failed} of {configured}): see their errors",
                          file=sys.stderr)  # fmt: skip
                    return 1
                return 0
            from datetime import timedelta

            await clock.sleep_until(start + timedelta(seconds=cfg.site.cycle_seconds))
    finally:
        for m in meters:
            m.close()


def run(args: argparse.Namespace) -> int:
    from hems.config import load_config

    if args.meter_timeout <= 0:
        raise UsageError(f"--meter-timeout: expected seconds > 0, got {args.meter_timeout:g}")
    cfg = load_config(args.config)
    # the drivers put what went wrong in each device's error; the library's own log is noise here
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    return asyncio.run(_main(args, cfg))
