"""`hems run` as a household runs it: the daemon on a real serial path (a pty playing an Aidon meter)
and a real Modbus TCP server (an SDM120 on the kitchen circuit, plus a gateway that is not there)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devices.han.encode import encode_aidon_list
from devices.modbus.maps import MAPS
from devices.modbus.sim import register_image, sim_device, start_tcp_server
from hems.storage import Storage

KITCHEN = {"u_v": 229.5, "i_a": 12.25, "p_w": 2790.0, "e_import_kwh": 812.5}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AidonOnPty(threading.Thread):
    """An Aidon meter sending list 2 every 0.5 s into a pseudo-terminal."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.master, slave = os.openpty()
        self.port = os.ttyname(slave)
        self._slave = slave
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            frame = encode_aidon_list(
                2,
                p_import_w=3456.0,
                i_a=(10.1, 4.2, 6.3),
                u_v=(231.0, 230.0, 229.0),
                meter_id="7359992890941742",
                meter_clock=datetime.now(UTC),
            )
            try:
                os.write(self.master, frame)
            except OSError:
                return
            time.sleep(0.5)

    def close(self) -> None:
        self.stop.set()
        self.join(2)
        os.close(self.master)
        os.close(self._slave)


async def test_the_daemon_stores_meter_and_circuits_and_stops_cleanly(tmp_path: Path) -> None:
    server, port = await start_tcp_server([sim_device(1, register_image(MAPS["sdm120"], KITCHEN))])
    meter = AidonOnPty()
    meter.start()
    db = tmp_path / "hems.db"
    state = tmp_path / "state.json"
    config = tmp_path / "hems.toml"
    config.write_text(
        f"""
[site]
cycle_seconds = 1
main_fuse_a = 25
[storage]
path = "{db}"
state_file = "{state}"
batch_cycles = 2
[meter]
port = "{meter.port}"
baudrate = 2400
parity = "E"

[[circuit]]
id = "kitchen"
line = "L1"
breaker_a = 16
[circuit.meter]
model = "sdm120"
host = "127.0.0.1"
port = {port}
unit_id = 1
timeout_s = 0.3

[[circuit]]
id = "garage"
line = "L2"
breaker_a = 16
[circuit.meter]
model = "sdm120"
host = "127.0.0.1"
port = {closed_port()}
unit_id = 1
timeout_s = 0.3
"""
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hems", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 40
        grid = kitchen = []
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            if not db.exists():
                continue
            try:
                with Storage.open(db, readonly=True) as st:
                    now = datetime.now(UTC)
                    grid = st.series("grid.p_import_w", now - timedelta(minutes=5), now)
                    kitchen = st.series("circuit.kitchen.p_w", now - timedelta(minutes=5), now)
            except sqlite3.OperationalError:  # the daemon is still creating the schema
                continue
            if len(grid) >= 3 and len(kitchen) >= 3:
                break
        assert len(kitchen) >= 3 and {p.mean for p in kitchen} == {2790.0}
        assert len(grid) >= 3 and {p.mean for p in grid} == {3456.0}
        live = json.loads(state.read_text())
        assert live["circuits"]["kitchen"]["i_a"] == 12.25
        assert "garage" in live["errors"]  # the missing gateway is named, and the rest goes on
        assert live["circuit_info"]["garage"]["breaker_a"] == 16
        assert live["grid"]["meter_id"] == "7359992890941742"
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 0, err.decode()
        with Storage.open(db, readonly=True) as st:
            assert st.integrity_ok()
            assert st.get_doc("meter")["meter_id"] == "7359992890941742"
            assert st.frames(datetime.now(UTC) - timedelta(minutes=5), datetime.now(UTC))
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.communicate()
        meter.close()
        await server.shutdown()


async def test_run_without_devices_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "hems.toml"
    config.write_text("[site]\nid = 'home'\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hems", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert err.decode().strip() == (
        f"hems: error: {config}: no devices: configure [meter] and/or [[circuit]] with a meter"
    )


class GarbageModbus(threading.Thread):
    """A TCP peer that accepts and answers every request with bytes that are no Modbus frame."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = int(self.sock.getsockname()[1])

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    @staticmethod
    def _answer(conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    if not conn.recv(256):
                        return
                    conn.sendall(b"\x00\x01\x02garbage")
                except OSError:
                    return


async def test_unreachable_devices_give_one_plain_line_each_not_library_dumps(tmp_path: Path) -> None:
    # A meter port that is not there and a Modbus peer that answers garbage: the log says so once
    # per device in a line a person reads, without pymodbus's hex dumps, naming the port once.
    peer = GarbageModbus()
    peer.start()
    port = tmp_path / "ttyUSB-han"
    config = tmp_path / "hems.toml"
    config.write_text(
        f"""
[site]
cycle_seconds = 1
[storage]
path = "{tmp_path / "hems.db"}"
state_file = "{tmp_path / "state.json"}"
[meter]
port = "{port}"
[[circuit]]
id = "kitchen"
line = "L1"
breaker_a = 16
[circuit.meter]
model = "sdm120"
host = "127.0.0.1"
port = {peer.port}
unit_id = 1
timeout_s = 0.3
[telemetry]
consent = false
"""
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hems", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await asyncio.sleep(6)  # several cycles, and retries after the backoff
        proc.send_signal(signal.SIGTERM)
        _, err_bytes = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.communicate()
        peer.sock.close()
    err = err_bytes.decode()
    assert ">>>>>" not in err and "pymodbus" not in err, err
    meter_lines = [line for line in err.splitlines() if str(port) in line]
    assert len(meter_lines) == 1, err
    assert meter_lines[0].count(str(port)) == 1, meter_lines[0]
    assert "cannot open the port: No such file or directory" in meter_lines[0]
    kitchen = [line for line in err.splitlines() if "kitchen" in line]
    assert len(kitchen) == 1 and "no valid Modbus frame" in kitchen[0], err
