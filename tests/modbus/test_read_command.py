"""`hems read --config FILE --once --json` as a user runs it: a subprocess against real Modbus peers."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import threading
import time
import tty
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devices.modbus.maps import MAPS
from devices.modbus.sim import PtyBus, register_image, sim_device

OVEN = {"u_l1_v": 231.5, "u_l2_v": 230.5, "u_l3_v": 229.5, "i_l1_a": 10.0, "i_l2_a": 9.5, "i_l3_a": 9.0}
OVEN |= {"p_l1_w": 2300.0, "p_l2_w": 2180.0, "p_l3_w": 2070.0, "p_w": 6550.0, "e_import_kwh": 4321.0}
KITCHEN = {"u_v": 229.5, "i_a": 12.25, "p_w": 2790.0, "e_import_kwh": 812.5}


async def hems(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hems",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_one_snapshot_of_tcp_and_rtu_meters_with_failures_inside_the_cycle(
    tmp_path: Path, tcp_server: Any
) -> None:
    port = await tcp_server([sim_device(2, register_image(MAPS["em340"], OVEN))])
    dead_port = closed_port()
    with PtyBus([sim_device(1, register_image(MAPS["sdm120"], KITCHEN))], dead={3}, garbage={4}) as bus:
        config = tmp_path / "hems.toml"
        config.write_text(
            f"""
[site]
cycle_seconds = 10
[meter]
port = "{tmp_path / "no-such-han-port"}"

[[circuit]]
id = "oven"
line = "3P"
breaker_a = 16
[circuit.meter]
model = "em340"
host = "127.0.0.1"
port = {port}
unit_id = 2

[[circuit]]
id = "kitchen"
line = "L1"
breaker_a = 20
[circuit.meter]
model = "sdm120"
serial = "{bus.port}"
baudrate = 9600
unit_id = 1
timeout_s = 0.5

[[circuit]]
id = "attic"
line = "L2"
breaker_a = 10
[circuit.meter]
model = "sdm120"
serial = "{bus.port}"
baudrate = 9600
unit_id = 3
timeout_s = 0.5

[[circuit]]
id = "shed"
line = "L3"
breaker_a = 10
[circuit.meter]
model = "sdm230"
serial = "{bus.port}"
baudrate = 9600
unit_id = 4
timeout_s = 0.5

[[circuit]]
id = "garage"
line = "L1"
breaker_a = 16
[circuit.meter]
model = "sdm120"
host = "127.0.0.1"
port = {dead_port}

[[circuit]]
id = "lights"
line = "L1"
breaker_a = 10
""",
            encoding="utf-8",
        )
        start = time.monotonic()
        code, out, err = await hems(
            "read", "--config", str(config), "--once", "--json", "--meter-timeout", "1"
        )
        elapsed = time.monotonic() - start
    assert code == 0, err
    snap = json.loads(out)
    assert datetime.fromisoformat(snap["time"]).tzinfo is not None
    assert set(snap["meter"]) == {"error"}  # the HAN port does not exist
    circuits = snap["circuits"]
    assert set(circuits) == {"oven", "kitchen", "attic", "shed", "garage"}  # "lights" has no meter
    oven = circuits["oven"]
    assert {k: oven[k] for k in OVEN} == OVEN
    assert (oven["i_a"], oven["u_v"]) == (10.0, 230.5)
    kitchen = circuits["kitchen"]
    assert {k: kitchen[k] for k in KITCHEN} == KITCHEN and kitchen["f_hz"] == 0.0
    assert circuits["attic"] == {"error": f"circuit attic: unit 3 on {bus.port}: no answer within 0.5 s"}
    assert "no valid Modbus frame" in circuits["shed"]["error"]
    assert circuits["garage"]["error"].startswith(
        f"circuit garage: cannot connect to tcp 127.0.0.1:{dead_port}"
    )
    assert elapsed < 10.0  # one cycle, interpreter start-up included


async def test_no_meter_section_gives_null_and_bad_bus_config_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "hems.toml"
    config.write_text("", encoding="utf-8")
    code, out, _ = await hems("read", "--config", str(config), "--once", "--json")
    assert code == 0 and json.loads(out)["meter"] is None and json.loads(out)["circuits"] == {}

    two = '[[circuit]]\nid = "{id}"\nline = "L1"\nbreaker_a = 16\n'
    two += 'meter = {{ model = "sdm120", serial = "/dev/ttyUSB0" }}\n'
    config.write_text(two.format(id="a") + two.format(id="b"), encoding="utf-8")
    code, out, err = await hems("read", "--config", str(config), "--once", "--json")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        f"hems: error: {config}: circuit: circuits 'a' and 'b' both use unit_id 1 on /dev/ttyUSB0: "
        "each meter on a bus needs its own unit id"
    ]


async def test_without_json_it_prints_a_table_a_person_can_read(tmp_path: Path, tcp_server: Any) -> None:
    port = await tcp_server([sim_device(1, register_image(MAPS["sdm120"], KITCHEN))])
    config = tmp_path / "hems.toml"
    config.write_text(
        f'[[circuit]]\nid = "kitchen"\nline = "L1"\nbreaker_a = 20\n'
        f'meter = {{ model = "sdm120", host = "127.0.0.1", port = {port} }}\n',
        encoding="utf-8",
    )
    code, out, err = await hems("read", "--config", str(config), "--once")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1] == "meter not configured"
    assert lines[2].split() == ["circuit", "P", "W", "I", "A", "U", "V", "E", "kWh"]
    assert lines[3].split() == ["kitchen", "2790", "12.25", "229.5", "812.5"]


async def test_the_smart_meter_is_read_through_the_han_reader(tmp_path: Path) -> None:
    from devices.han.encode import encode_grid_reading
    from devices.natures import GridReading

    sent = GridReading(
        time=datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
        p_import_w=3120.0,
        i_l1_a=10.5,
        i_l2_a=3.2,
        i_l3_a=0.4,
        u_l1_v=231.0,
        u_l2_v=230.0,
        u_l3_v=229.0,
        meter_type="6534",
    )
    frame = encode_grid_reading(sent, list_no=2, vendor="aidon")
    master, slave = os.openpty()
    tty.setraw(master)
    stop = threading.Event()

    def meter() -> None:  # an Aidon meter pushing its list 2 every 0.3 s
        while not stop.wait(0.3):
            os.write(master, frame)

    thread = threading.Thread(target=meter, daemon=True)
    thread.start()
    config = tmp_path / "hems.toml"
    config.write_text(
        f'[meter]\nport = "{os.ttyname(slave)}"\nformat = "han"\nbaudrate = 2400\nparity = "E"\n',
        encoding="utf-8",
    )
    try:
        code, out, err = await hems(
            "read", "--config", str(config), "--once", "--json", "--meter-timeout", "5"
        )
    finally:
        stop.set()
        thread.join()
        os.close(master)
        os.close(slave)
    assert code == 0, err
    grid = json.loads(out)["meter"]
    assert (grid["p_import_w"], grid["i_l1_a"], grid["u_l3_v"]) == (3120.0, 10.5, 229.0)


async def test_read_once_exits_1_when_every_device_failed(tmp_path: Path) -> None:
    config = tmp_path / "hems.toml"
    config.write_text(
        f"""
[site]
cycle_seconds = 2
[meter]
port = "{tmp_path / "no-such-han-port"}"
[[circuit]]
id = "kitchen"
line = "L1"
breaker_a = 16
[circuit.meter]
model = "sdm120"
host = "127.0.0.1"
port = {closed_port()}
unit_id = 1
timeout_s = 0.3
"""
    )
    code, out, err = await hems("read", "--config", str(config), "--once", "--json", "--meter-timeout", "1")
    snap = json.loads(out)  # the snapshot still says what went wrong with each device
    assert "error" in snap["meter"] and "error" in snap["circuits"]["kitchen"]
    assert code == 1
    assert err.strip() == "hems read: every device failed (2 of 2): see their errors"
