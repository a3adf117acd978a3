"""Live state from a real mosquitto on a free localhost port (never the machine's broker)."""

from __future__ import annotations

import contextlib
import getpass
import json
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from tui_testing import NOW, screen_text, settle, state_doc

from hems.clock import ManualClock
from hems.mqtt.config import MqttConfig
from tui.app import HemsApp
from tui.mqtt import MqttSource, from_mqtt_state
from tui.source import LocalSource

MOSQUITTO = Path("/usr/sbin/mosquitto")
pytestmark = pytest.mark.skipif(not MOSQUITTO.exists(), reason="mosquitto is not installed")
STATIC = {
    "site": {"id": "home", "main_fuse_a": 25, "timezone": "Europe/Oslo"},
    "circuit_info": {"kitchen": {"name": "Kitchen", "breaker_a": 16}},
}


def wait_until(check: Callable[[], Any], seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser {getpass.getuser()}\n"
    )
    proc = subprocess.Popen(
        [str(MOSQUITTO), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def listening() -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        return False

    wait_until(listening)
    yield port
    proc.terminate()
    proc.wait(10)


def publish(port: int, items: list[tuple[str, bytes]]) -> None:
    """Publish retained messages as the daemon would, and wait until the broker has them."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="daemon", protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    for topic, payload in items:
        client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def published_state() -> dict[str, Any]:
    """What hems/control publishes: the snapshot plus its own keys, without site facts."""
    doc = state_doc()
    for key in ("site", "circuit_info", "price", "capacity", "alerts"):
        doc.pop(key)
    doc["price_now_per_kwh"] = 0.87
    doc["alerts_active"] = [
        {"key": "breaker.circuit.kitchen", "level": "warning", "message": "Kitchen at 95 %"}
    ]
    return doc


def test_published_keys_become_the_state_file_shape() -> None:
    out = from_mqtt_state(published_state(), STATIC)
    assert out["site"]["main_fuse_a"] == 25 and out["circuit_info"]["kitchen"]["breaker_a"] == 16
    assert out["price"] == {"import_per_kwh": 0.87}
    assert out["alerts"] == [{"level": "warning", "kind": "breaker", "message": "Kitchen at 95 %"}]


def test_retained_state_then_offline(broker: int, tmp_path: Path) -> None:
    publish(
        broker, [("hems/home/status", b"online"), ("hems/home/state", json.dumps(published_state()).encode())]
    )
    source = MqttSource(
        MqttConfig(host="127.0.0.1", port=broker), "home", LocalSource(tmp_path / "none"), STATIC
    )
    try:
        assert source.read_state() is None  # just connecting
        state = wait_until(source.read_state)
        assert state["grid"]["p_import_w"] == 2345.0 and state["price"]["import_per_kwh"] == 0.87
        publish(broker, [("hems/home/status", b"offline")])  # the daemon's last will
        wait_until(lambda: source.read_state() is None)
        publish(broker, [("hems/home/status", b"online")])
        wait_until(source.read_state)
    finally:
        source.close()


async def test_dashboard_on_the_broker(broker: int, tmp_path: Path) -> None:
    publish(broker, [("hems/home/state", json.dumps(published_state()).encode())])
    source = MqttSource(
        MqttConfig(host="127.0.0.1", port=broker), "home", LocalSource(tmp_path / "none"), STATIC
    )
    app = HemsApp(source, ManualClock(NOW), poll_seconds=0.1, stored_seconds=3600)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(100):
                await settle(pilot)
                if "Grid import 2.35 kW" in screen_text(app):
                    break
                await pilot.pause(0.05)
            text = screen_text(app)
            assert "Grid import 2.35 kW" in text and "0.87 /kWh" in text and "Kitchen at 95 %" in text
            assert app.screen.query_one("#fuse").border_title == "Main fuse 25 A"
    finally:
        source.close()
