"""The cycle: concurrent reads, a failing or hanging device is missing and retried with backoff,
the others are stored, a failing hook does not stop the cycle, and systemd gets its pings."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devices.natures import CircuitReading, DeviceError, GridReading
from hems.clock import ManualClock
from hems.daemon import Daemon, Devices, align
from hems.snapshot import Snapshot
from hems.storage import SampleWriter, Storage, WriterSettings
from hems.systemd import Notifier

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


class Meter:
    def __init__(self, clock: ManualClock, mode: str = "ok", device_id: str = "grid") -> None:
        self.id = device_id
        self.clock = clock
        self.mode = mode
        self.calls = 0

    async def read(self) -> GridReading:
        self.calls += 1
        if self.mode == "error":
            raise DeviceError(f"{self.id}: CRC error in frame")
        if self.mode == "hang":
            await asyncio.sleep(30)
        return GridReading(time=self.clock.now(), p_import_w=1500.0, i_l1_a=6.5, meter_id="123")


class Circuit(Meter):
    async def read(self) -> CircuitReading:  # type: ignore[override]
        await super().read()
        return CircuitReading(time=self.clock.now(), p_w=700.0, i_a=3.0, u_v=231.0)


class Boom:
    calls = 0

    async def on_cycle(self, snapshot: Snapshot) -> None:
        self.calls += 1
        raise RuntimeError("rule exploded")


class Recorder:
    def __init__(self) -> None:
        self.snapshots: list[Snapshot] = []

    async def on_cycle(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)

    def state(self) -> dict[str, object]:
        return {"price": {"import_per_kwh": 1.23}}


def test_align() -> None:
    assert align(datetime(2026, 1, 1, 0, 0, 3, tzinfo=UTC), 10) == datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC)
    assert align(T0, 10) == T0


async def test_a_failing_device_is_missing_retried_and_the_others_stored(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    grid = Meter(clock)
    good = Circuit(clock, device_id="kitchen")
    bad = Circuit(clock, mode="error", device_id="heaters")
    st = Storage.open(tmp_path / "d.db")
    writer = SampleWriter(st, WriterSettings(batch_cycles=5))
    rec, boom = Recorder(), Boom()
    daemon = Daemon(
        Devices(grid=grid, circuits=[good, bad]),
        clock,
        cycle_s=10,
        storage=st,
        writer=writer,
        hooks=[boom, rec],
        state_file=tmp_path / "state.json",
    )
    cycles = await daemon.run(start=T0, until=T0 + timedelta(minutes=10))
    assert cycles == 60
    snaps = rec.snapshots
    assert len(snaps) == 60 and boom.calls == 60  # the failing hook never stopped the cycle
    assert all("kitchen" in s.circuits and "heaters" not in s.circuits for s in snaps)
    assert snaps[0].errors["heaters"] == "heaters: CRC error in frame"
    # backoff: retried at the next cycle, then less and less often (10, 20, 40, 80, 160, 300 s ...)
    assert 5 <= bad.calls <= 8
    assert good.calls == 60 and grid.calls == 60
    end = T0 + timedelta(hours=1)
    assert len(st.series("circuit.kitchen.p_w", T0, end)) == 60
    assert st.series("circuit.heaters.p_w", T0, end) == []
    assert len(st.series("grid.p_import_w", T0, end)) == 60
    assert st.get_doc("meter") == {"meter_id": "123", "meter_type": None}
    state = (tmp_path / "state.json").read_text()
    assert '"import_per_kwh": 1.23' in state and '"heaters"' in state
    # and it comes back
    bad.mode = "ok"
    await daemon.run(start=end, until=end + timedelta(minutes=6))
    assert "heaters" in rec.snapshots[-1].circuits
    st.close()


async def test_a_hanging_device_times_out_without_delaying_the_cycle() -> None:
    clock = ManualClock(T0)
    hang = Meter(clock, mode="hang")
    ok = Circuit(clock, device_id="kitchen")
    rec = Recorder()
    daemon = Daemon(Devices(grid=hang, circuits=[ok]), clock, cycle_s=10, timeout_s=0.05, hooks=[rec])
    loop = asyncio.get_running_loop()
    began = loop.time()
    await daemon.run(start=T0, until=T0 + timedelta(seconds=30))
    assert loop.time() - began < 2.0
    assert [s.grid for s in rec.snapshots] == [None, None, None]
    assert all("no answer within 0.05 s" in s.errors["grid"] for s in rec.snapshots if "grid" in s.errors)
    assert all("kitchen" in s.circuits for s in rec.snapshots)


async def test_stop_event_ends_the_run_and_flushes(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    st = Storage.open(tmp_path / "s.db")
    writer = SampleWriter(st, WriterSettings(batch_cycles=1000, batch_seconds=1e9))
    stop = asyncio.Event()
    rec = Recorder()

    class StopAfter(Recorder):
        async def on_cycle(self, snapshot: Snapshot) -> None:
            if len(rec.snapshots) == 7:
                stop.set()

    daemon = Daemon(Devices(grid=Meter(clock)), clock, storage=st, writer=writer, hooks=[rec, StopAfter()])
    await daemon.run(start=T0, stop=stop)
    assert len(rec.snapshots) == 7
    reader = Storage.open(tmp_path / "s.db", readonly=True)
    assert len(reader.series("grid.p_import_w", T0, T0 + timedelta(hours=1))) == 7
    reader.close()
    st.close()


async def test_systemd_readiness_and_watchdog_from_the_cycle(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.setblocking(False)
    try:
        clock = ManualClock(T0)
        daemon = Daemon(Devices(grid=Meter(clock)), clock, notifier=Notifier(path))
        await daemon.run(start=T0, until=T0 + timedelta(seconds=30))
        messages = []
        while True:
            try:
                messages.append(server.recv(256).decode())
            except BlockingIOError:
                break
    finally:
        server.close()
    assert messages[0].startswith("READY=1")
    assert messages.count("WATCHDOG=1") == 3
    assert messages[-1] == "STOPPING=1"


def test_notifier_without_systemd_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert Notifier().ready() is False


async def test_appliance_states_from_a_hook_are_in_the_snapshot_and_stored(tmp_path: Path) -> None:
    from devices.natures import ApplianceState

    clock = ManualClock(T0)

    class Hears(Recorder):
        def appliance_states(self) -> dict[str, ApplianceState]:
            return {"ev": ApplianceState(time=clock.now(), online=True, running=True, p_w=7200.0)}

    st = Storage.open(tmp_path / "a.db")
    hook = Hears()
    daemon = Daemon(Devices(grid=Meter(clock)), clock, storage=st, writer=SampleWriter(st), hooks=[hook])
    await daemon.run(start=T0, until=T0 + timedelta(seconds=30))
    assert all(s.appliances["ev"].running for s in hook.snapshots)
    assert [p.mean for p in st.series("appliance.ev.p_w", T0, T0 + timedelta(minutes=1))] == [7200.0] * 3
    st.close()


async def test_a_full_disk_is_one_line_per_change_and_recovery_stores_what_waited(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite's max_page_count makes the database full exactly as a full disk does (SQLITE_FULL)."""
    clock = ManualClock(T0)
    st = Storage.open(tmp_path / "s.db")
    writer = SampleWriter(st, WriterSettings(batch_cycles=1, batch_seconds=1e9))

    class Disk:
        """Fills the disk at 2 min and frees it at 10 min."""

        async def on_cycle(self, snapshot: Snapshot) -> None:
            if snapshot.time == T0 + timedelta(minutes=2):
                pages = st.connection.execute("PRAGMA page_count").fetchone()[0]
                st.connection.execute(f"PRAGMA max_page_count = {pages}")
            if snapshot.time == T0 + timedelta(minutes=10):
                st.connection.execute("PRAGMA max_page_count = 1000000")

    daemon = Daemon(Devices(grid=Meter(clock)), clock, storage=st, writer=writer, hooks=[Disk()])
    with caplog.at_level("INFO"):
        await daemon.run(start=T0, until=T0 + timedelta(minutes=15))
    said = [r.getMessage() for r in caplog.records if r.name == "hems.daemon"]
    assert len(said) == 2 and "cannot write (database or disk is full)" in said[0], said
    assert "writing again" in said[1]
    assert "Traceback" not in caplog.text and "no transaction is active" not in caplog.text
    assert not any(r.exc_info for r in caplog.records)
    assert len(st.series("grid.p_import_w", T0, T0 + timedelta(minutes=15), "raw")) == 90  # none lost

    # a clean stop while the disk is still full: one line saying what is lost, no traceback
    caplog.clear()
    pages = st.connection.execute("PRAGMA page_count").fetchone()[0]
    st.connection.execute(f"PRAGMA max_page_count = {pages}")
    with caplog.at_level("INFO"):
        await daemon.run(start=T0 + timedelta(minutes=15), until=T0 + timedelta(minutes=25))
    said = [r.getMessage() for r in caplog.records if r.name == "hems.daemon"]
    assert len(said) == 2 and "cycles could not be written at the stop and are lost" in said[1], said
    assert not any(r.exc_info for r in caplog.records)
    st.close()
