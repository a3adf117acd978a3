"""The serial reader against real pseudo-terminals: junk, half frames, unplugging, detection,
and the async GridMeter driver on top."""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from han_testdata import VECTORS, payload

from devices.han.config import MeterConfig
from devices.han.decode import MeterReading
from devices.han.errors import FrameError
from devices.han.reader import HanMeter, read_once
from devices.han.serial_io import ReaderStats, candidate_settings, read_frames
from devices.natures import DeviceError
from hems.clock import ManualClock

BY_ID = {v["id"]: v for v in VECTORS}
LIST1 = payload(BY_ID["no-aidon-6534-list1"])
LIST2 = payload(BY_ID["no-aidon-6534-list2"])
LIST3 = payload(BY_ID["no-aidon-6534-list3"])
BAD = payload(BY_ID["neg-kaifa-bad-fcs"])


class FakeMeter:
    """The meter side of a pty, reached by the reader through a stable symlink (like by-id)."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master = -1
        self.plug()

    def plug(self) -> None:
        master, slave = os.openpty()
        tmp = self.link.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.link)
        os.close(slave)
        self.master = master

    def unplug(self) -> None:
        os.close(self.master)
        self.master = -1

    def send(self, data: bytes, chunk: int = 40) -> None:
        for i in range(0, len(data), chunk):
            os.write(self.master, data[i : i + chunk])
            time.sleep(0.002)

    def speed(self) -> int:
        return termios.tcgetattr(self.master)[4]


class Collector:
    """`read_frames` in a thread, collecting what it yields."""

    def __init__(self, config: MeterConfig) -> None:
        self.stop = threading.Event()
        self.stats = ReaderStats()
        self.results: list[MeterReading | FrameError] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.config = config
        self.thread.start()

    def _run(self) -> None:
        for _received, result in read_frames(self.config, self.stop, stats=self.stats):
            self.results.append(result)

    def wait(self, condition: Callable[[], bool], timeout_s: float = 8.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, f"timed out; stats {self.stats}"
            time.sleep(0.01)

    def readings(self) -> list[MeterReading]:
        return [r for r in self.results if isinstance(r, MeterReading)]


@pytest.fixture
def meter(tmp_path: Path) -> Iterator[FakeMeter]:
    fake = FakeMeter(tmp_path / "ttyHAN")
    yield fake
    if fake.master >= 0:
        fake.unplug()


@pytest.fixture
def collector_factory() -> Iterator[list[Collector]]:
    made: list[Collector] = []
    yield made
    for collector in made:
        collector.stop.set()
        collector.thread.join(3)


def _config(meter: FakeMeter, **kw: object) -> MeterConfig:
    base: dict[str, object] = {"port": str(meter.link), "format": "han", "reopen_delay_s": 0.05}
    return MeterConfig.model_validate(base | kw)


def test_every_frame_found_despite_junk_and_a_half_frame(meter: FakeMeter, collector_factory: list) -> None:
    collector = Collector(_config(meter, baudrate=2400, parity="E"))
    collector_factory.append(collector)
    collector.wait(lambda: collector.stats.opens == 1)
    meter.send(LIST3[150:] + b"\x00\xff junk \x7e\x7e" + LIST1 + LIST2 + b"\x13\x37" + BAD + LIST3 + LIST1)
    collector.wait(lambda: len(collector.results) == 5)
    assert [r.raw for r in collector.readings()] == [LIST1, LIST2, LIST3, LIST1]
    assert collector.stats.frames_ok == 4 and collector.stats.frames_bad["crc"] == 1
    assert collector.stats.skipped_bytes >= len(LIST3) - 150 + 10


def test_reader_reopens_after_the_adapter_is_unplugged(meter: FakeMeter, collector_factory: list) -> None:
    collector = Collector(_config(meter, baudrate=2400, parity="E"))
    collector_factory.append(collector)
    collector.wait(lambda: collector.stats.opens == 1)
    meter.send(LIST2 + LIST1[:20])  # unplugged in the middle of a frame
    collector.wait(lambda: len(collector.readings()) == 1)
    meter.unplug()
    collector.wait(lambda: collector.stats.disconnects == 1)
    collector.wait(lambda: collector.stats.open_failures >= 1)  # it keeps trying the dangling path
    meter.plug()
    collector.wait(lambda: collector.stats.opens == 2)
    meter.send(LIST1 + LIST3)
    collector.wait(lambda: len(collector.readings()) == 3)
    assert [r.raw for r in collector.readings()] == [LIST2, LIST1, LIST3]


def test_auto_detection_settles_on_the_setting_that_gives_frames(
    meter: FakeMeter, collector_factory: list
) -> None:
    """The fake meter sends its telegram only while the port runs at 115200 baud, garbage otherwise."""
    telegram = payload(BY_ID["nl-dsmr50-iskra-am550-real"])
    collector = Collector(_config(meter, format="auto", detect_dwell_s=0.3))
    collector_factory.append(collector)

    def talk() -> None:
        with contextlib.suppress(OSError):  # the test ended and closed the pty
            while not collector.stop.is_set() and meter.master >= 0:
                right = meter.speed() == termios.B115200
                meter.send(telegram if right else bytes(range(0x80, 0xFF)) * 3, chunk=512)
                time.sleep(0.05)

    threading.Thread(target=talk, daemon=True).start()
    collector.wait(lambda: len(collector.readings()) >= 3)
    assert collector.stats.settings == "115200 8N1" and collector.stats.locked
    assert collector.stats.opens >= 3  # 2400 8E1 and 2400 8N1 were tried first
    assert collector.readings()[0].fields["p_import_w"] == 433.0


def test_candidate_settings_per_meter() -> None:
    labels = [s.label for s in candidate_settings(MeterConfig(port="/dev/null"))]
    assert labels[:3] == ["2400 8E1", "2400 8N1", "115200 8N1"] and "9600 7E1" in labels
    dutch = candidate_settings(MeterConfig(port="/dev/null", country="NL"))
    assert dutch[0].label == "115200 8N1"
    p1 = candidate_settings(MeterConfig(port="/dev/null", format="p1"))
    assert p1[0].mask_parity and p1[1].label == "9600 7E1"
    fixed = candidate_settings(MeterConfig(port="/dev/null", baudrate=2400, parity="N"))
    assert [s.label for s in fixed] == ["2400 8N1"]


async def test_grid_meter_read_merges_lists_and_goes_stale(meter: FakeMeter) -> None:
    clock = ManualClock(datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    grid_meter = HanMeter(_config(meter, baudrate=2400, parity="E", max_age_s=30), clock)
    async with grid_meter:
        with pytest.raises(DeviceError, match="ttyHAN"):
            await grid_meter.read()
        await _until(lambda: grid_meter.stats.opens == 1)
        meter.send(LIST3 + LIST2 + LIST1)
        await _until(lambda: grid_meter.stats.frames_ok == 3)
        reading = await grid_meter.read()
        assert reading.raw == LIST1 and reading.p_import_w == 733.0  # the newest: list 1
        assert reading.i_l1_a == pytest.approx(19.3) and reading.meter_id == "7359992895913195"  # list 2
        assert reading.e_import_kwh == pytest.approx(94064.59)  # the hourly register
        assert reading.time == clock.now()
        assert [raw for _t, raw in grid_meter.drain_frames()] == [LIST3, LIST2, LIST1]
        assert grid_meter.drain_frames() == []
        clock.advance(31)
        with pytest.raises(DeviceError, match="31 s ago"):
            await grid_meter.read()


async def test_read_once_waits_for_a_full_list(meter: FakeMeter) -> None:
    config = _config(meter, baudrate=2400, parity="E")

    def later() -> None:
        with contextlib.suppress(OSError):
            time.sleep(0.3)
            meter.send(LIST1)
            time.sleep(0.2)
            meter.send(LIST2)

    threading.Thread(target=later, daemon=True).start()
    reading = await read_once(config, timeout_s=5.0)
    assert reading.meter_type == "6534" and reading.u_l3_v == pytest.approx(235.6)


async def test_read_once_on_a_missing_port_says_why(tmp_path: Path) -> None:
    config = MeterConfig(port=str(tmp_path / "ttyUSB9"), reopen_delay_s=0.05)
    started = time.monotonic()
    with pytest.raises(DeviceError, match=r"meter on .*ttyUSB9: cannot open the port: No such file"):
        await read_once(config, timeout_s=0.5)
    assert time.monotonic() - started < 3


async def _until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
