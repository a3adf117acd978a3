"""How control reaches the appliances: the `Transport` it publishes and receives through.

Two transports carry the same topics and payloads (docs/control.md):

- `hems.mqtt.bridge.MqttBridge`: a broker ([mqtt] in hems.toml), for real appliances, drivers and
  Home Assistant;
- `LocalTransport`: the box's end of an in-process `devices.appliances.link.LocalBus`, for a box and
  its simulated appliances in one process (``hems demo`` without ``--mqtt``, ``hems evaluate``).

An appliance driver (a Shelly relay, an OCPP charge point...) sits on either, behind an
`devices.appliances.agent.ApplianceAgent`, so control never knows what is at the other end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from devices.appliances.link import LocalBus, Message
from hems.mqtt import topics


class Received(Protocol):
    """A message that arrived (`hems.mqtt.bridge.Incoming`, `devices.appliances.link.Message`)."""

    @property
    def topic(self) -> str: ...

    @property
    def payload(self) -> bytes: ...


class Transport(Protocol):
    """What `hems.control.core.Control` needs of its connection to the appliances."""

    connected: threading.Event
    on_connected: list[Callable[[], None]]  #: run after every (re)connection

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> bool: ...

    def drain(self) -> Sequence[Received]:
        """Every message received since the last call (never waits)."""
        ...


class LocalTransport:
    """The box on a `LocalBus`: subscribes to ``filters`` (no local), says ``online``/``offline``."""

    def __init__(self, bus: LocalBus, site: str, filters: list[str]) -> None:
        self.bus = bus
        self.site = site
        self.filters = list(filters)
        self.connected = threading.Event()
        self.on_connected: list[Callable[[], None]] = []
        self._client = bus.client(f"hems-{site}", will=(topics.status(site), b"offline", True))

    def start(self) -> None:
        for f in self.filters:
            self._client.subscribe(f, no_local=True)
        self._client.publish(topics.status(self.site), b"online", retain=True)
        self.connected.set()
        for hook in self.on_connected:
            hook()

    def stop(self) -> None:
        if self.connected.is_set():
            self._client.publish(topics.status(self.site), b"offline", retain=True)
        self.connected.clear()

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> bool:
        data = payload.encode() if isinstance(payload, str) else payload
        self._client.publish(topic, data, retain=retain)
        return True

    def drain(self) -> list[Message]:
        return self._client.receive()

    def pending(self) -> bool:
        """Whether messages are waiting (a fast-forwarding simulation asks before moving on)."""
        return bool(self._client.inbox)
