"""Reading the meter's serial port (pyserial): settings, detection, reconnection. Blocking I/O.

`read_frames` is a generator for a worker thread: it opens the port, tries the serial settings in
turn until frames check out (then keeps that setting), decodes everything that arrives, and
survives the adapter being unplugged by reopening the same path (use a /dev/serial/by-id/ link).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from devices.han.config import MeterConfig
from devices.han.decode import DecodeOptions, MeterReading
from devices.han.dlms import Keys
from devices.han.errors import FrameError
from devices.han.stream import StreamDecoder
from devices.natures import Clock, UtcClock

if TYPE_CHECKING:
    import serial

log = logging.getLogger(__name__)
_SEVEN_BITS = bytes(b & 0x7F for b in range(256))  #: P1 7E1 read as 8N1: drop the parity bit


@dataclass(frozen=True, slots=True)
class SerialSettings:
    baudrate: int
    bytesize: int = 8
    parity: str = "N"
    mask_parity: bool = False  #: 8N1 reading of a 7E1 line: clear bit 7 of every byte

    @property
    def label(self) -> str:
        return f"{self.baudrate} {self.bytesize}{self.parity}1"


HAN_EVEN = SerialSettings(2400, 8, "E")  #: Aidon, Kaifa (and L&G) M-Bus HAN
HAN_NONE = SerialSettings(2400, 8, "N")  #: Kamstrup M-Bus HAN
FAST_8N1 = SerialSettings(115200, 8, "N")  #: DSMR 5, Belgian/Luxembourg/Swedish/Danish P1, Swedish Aidon
FAST_7E1 = SerialSettings(115200, 7, "E")  #: DSMR 4 meters that really send 7E1
DSMR2 = SerialSettings(9600, 7, "E")  #: DSMR 2.2 / 3.0


def candidate_settings(config: MeterConfig) -> list[SerialSettings]:
    """The serial settings to try, most likely first for the meter's country and format."""
    if config.baudrate is not None:
        bytesize = config.bytesize or (7 if config.parity == "E" and config.format == "p1" else 8)
        return [SerialSettings(config.baudrate, bytesize, config.parity or "N")]
    han = [HAN_EVEN, HAN_NONE, FAST_8N1]
    p1 = [FAST_8N1, FAST_7E1, DSMR2]
    if config.format == "han":
        found = han
    elif config.format == "p1":
        found = [SerialSettings(115200, 8, "N", mask_parity=True), DSMR2]
    elif config.country in ("NL", "BE", "LU", "AT", "PL"):
        found = p1 + han[:2]
    else:
        found = [*han, FAST_7E1, DSMR2]
    if config.parity is not None:
        found = [s for s in found if s.parity == config.parity] or found
    return found


@dataclass(slots=True)
class ReaderStats:
    """What the reader saw since it started: for `hems read`, alerts and the TUI."""

    frames_ok: int = 0
    frames_bad: Counter[str] = field(default_factory=Counter)  #: by reason: crc, truncated, ...
    bytes_read: int = 0
    skipped_bytes: int = 0  #: bytes outside any valid frame (junk, half frames, damaged frames)
    opens: int = 0
    open_failures: int = 0
    disconnects: int = 0
    settings: str | None = None  #: the serial setting in use ("2400 8E1")
    locked: bool = False  #: the setting is confirmed by a valid frame
    detected: str | None = None  #: "han Aidon", "p1 KFM", ...
    last_error: str | None = None


def decode_options(config: MeterConfig) -> DecodeOptions:
    keys = Keys.from_hex(config.key, config.auth_key) if config.key else None
    return DecodeOptions(keys=keys, country=config.country, kamstrup_energy_wh=config.kamstrup_energy_wh)


def open_port(path: str, settings: SerialSettings, timeout_s: float = 0.2) -> serial.Serial:
    import serial  # pyserial; imported here so parsing never needs it

    return serial.Serial(
        path,
        baudrate=settings.baudrate,
        bytesize=settings.bytesize,
        parity=settings.parity,
        stopbits=1,
        timeout=timeout_s,
        exclusive=True,
    )


def read_frames(
    config: MeterConfig,
    stop: threading.Event,
    clock: Clock | None = None,
    stats: ReaderStats | None = None,
) -> Iterator[tuple[datetime, MeterReading | FrameError]]:
    """Decoded frames from the meter's port, with their reception time, until ``stop`` is set."""
    clock = clock or UtcClock()
    stats = stats if stats is not None else ReaderStats()
    options = decode_options(config)
    candidates = candidate_settings(config)
    index = 0
    while not stop.is_set():
        settings = candidates[index]
        stats.settings = settings.label
        try:
            port = open_port(config.port, settings)
        except (OSError, ValueError) as exc:  # SerialException is an OSError
            stats.open_failures += 1
            stats.last_error = f"cannot open the port: {_reason(exc)}"
            stop.wait(config.reopen_delay_s)
            continue
        stats.opens += 1
        decoder = StreamDecoder(options, fmt=config.format)
        tried_since = last_good = time.monotonic()
        try:
            while not stop.is_set():
                data = port.read(max(1, min(port.in_waiting, 4096)))
                now = time.monotonic()
                if data:
                    stats.bytes_read += len(data)
                    if settings.mask_parity:
                        data = data.translate(_SEVEN_BITS)
                    for _offset, result in decoder.feed(data):
                        if isinstance(result, MeterReading):
                            stats.frames_ok += 1
                            if not stats.locked:
                                log.info("meter on %s: frames at %s", config.port, settings.label)
                            if config.format == "auto":  # look only for the kind this meter sends
                                decoder.splitter.han = result.protocol == "han"
                                decoder.splitter.p1 = decoder.splitter.raw_apdu = result.protocol == "p1"
                            stats.locked, last_good = True, now
                            stats.detected = f"{result.protocol} {result.fields.get('vendor', '?')}"
                        else:
                            stats.frames_bad[result.reason] += 1
                            stats.last_error = f"{result.reason}: {result.detail}"
                        yield clock.now(), result
                    stats.skipped_bytes = decoder.splitter.skipped_bytes
                if len(candidates) > 1:
                    if stats.locked and now - last_good > 10 * config.detect_dwell_s:
                        stats.locked, tried_since = False, now  # meter changed its output: detect again
                    if not stats.locked and now - tried_since > config.detect_dwell_s:
                        index = (index + 1) % len(candidates)
                        break
        except (OSError, ValueError) as exc:  # unplugged adapter, closed pty
            log.warning("meter on %s lost: %s; reopening", config.port, exc)
            stats.disconnects += 1
            stats.last_error = f"{config.port} disconnected: {exc}"
            port.close()
            stop.wait(config.reopen_delay_s)
        finally:
            port.close()


def _reason(exc: Exception) -> str:
    """Why a port did not open, without the path pyserial repeats ("No such file or directory")."""
    errno = getattr(exc, "errno", None)
    return os.strerror(errno) if isinstance(errno, int) and errno > 0 else str(exc)
