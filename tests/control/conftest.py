"""A real mosquitto per test on a free localhost port (never the machine's broker), and paho
clients acting as appliances."""

from __future__ import annotations

import contextlib
import getpass
import queue
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

MOSQUITTO = "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """mosquitto with its own config file in ``directory``; ``extra`` lines go into the config."""

    def __init__(self, directory: Path, extra: str = "allow_anonymous true\n") -> None:
        self.dir = directory
        self.port = free_port()
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        conf = self.dir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\npersistence false\nlog_dest file {self.dir / 'mosquitto.log'}\n"
            f"log_type all\nuser {getpass.getuser()}\n{self.extra}"
        )
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"mosquitto exited: {err} {self.log()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not open its port")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            if self.proc.stderr:
                self.proc.stderr.close()
            self.proc = None

    def log(self) -> str:
        p = self.dir / "mosquitto.log"
        return p.read_text() if p.exists() else ""


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()


class Peer:
    """A paho client acting as an appliance (or an intruder): records what it receives."""

    def __init__(
        self,
        port: int,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        subscribe: list[str] | None = None,
    ) -> None:
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.seen: list[tuple[str, bytes, bool]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if username:
            self.client.username_pw_set(username, password)
        self.subs = subscribe or []
        self.subscribed = False
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        self.client.on_subscribe = lambda c, u, mid, rc, p: setattr(self, "subscribed", True)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_until(lambda: self.client.is_connected() and (self.subscribed or not self.subs), 10)

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, rc: object, props: object
    ) -> None:
        for s in self.subs:
            client.subscribe(s, options=SubscribeOptions(qos=1, noLocal=True))

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> int:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(5)
        return info.rc

    def next(
        self, topic: str, timeout: float = 10.0, pump: Callable[[], None] | None = None
    ) -> mqtt.MQTTMessage:
        """The next message on ``topic`` (others are kept in ``seen``); ``pump`` runs while waiting."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pump is not None:
                pump()
            try:
                m = self.messages.get(timeout=0.05)
            except queue.Empty:
                continue
            self.seen.append((m.topic, bytes(m.payload), bool(m.retain)))
            if m.topic == topic:
                return m
        raise AssertionError(f"nothing on {topic} within {timeout} s; seen {self.seen}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_until(cond: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture
def peers() -> Iterator[Callable[..., Peer]]:
    made: list[Peer] = []

    def make(*args: object, **kw: object) -> Peer:
        p = Peer(*args, **kw)  # type: ignore[arg-type]
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


@pytest.fixture
def make_broker(tmp_path: Path) -> Iterator[Callable[[str], Broker]]:
    """Start a broker with extra config lines (e.g. a password file and an ACL)."""
    made: list[Broker] = []

    def make(extra: str) -> Broker:
        b = Broker(tmp_path, extra)
        b.start()
        made.append(b)
        return b

    yield make
    for b in made:
        b.stop()
