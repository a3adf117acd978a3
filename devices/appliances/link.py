"""How an appliance and the box exchange messages: MQTT, or an in-process bus with MQTT's semantics.

`Link` is what the `ApplianceAgent` needs: publish, subscribe, and the messages received since the
last look. Two implementations:

- `LocalBus` / `LocalClient`: an in-process broker for a box and its simulated appliances in one
  process (``hems demo`` without a broker, ``hems evaluate``). It keeps MQTT's semantics where the
  protocol relies on them: retained messages are delivered on subscribe (an empty retained payload
  deletes one), ``+``/``#`` filters, *no local* subscriptions, and a last will published when a
  client is closed uncleanly. Messages are delivered synchronously into each subscriber's inbox;
  the bus is meant for one thread (the daemon's loop).
- `MqttLink` (devices/appliances/mqtt_link.py): a paho client on a real broker.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Message:
    """One message received: topic, payload, and whether it was a retained one."""

    topic: str
    payload: bytes
    retain: bool = False


class Link(Protocol):
    """The messaging an appliance agent needs (QoS 1 where the transport has QoS)."""

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None: ...

    def subscribe(self, topic_filter: str) -> None: ...

    def receive(self) -> list[Message]:
        """Every message received since the last call (never waits)."""
        ...

    def close(self, clean: bool = True) -> None:
        """Disconnect; ``clean=False`` behaves like a lost connection (the last will is sent)."""
        ...


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic matching: ``+`` one level, ``#`` the rest (including none)."""
    f, t = topic_filter.split("/"), topic.split("/")
    for i, part in enumerate(f):
        if part == "#":
            return True
        if i >= len(t) or (part != "+" and part != t[i]):
            return False
    return len(f) == len(t)


class LocalBus:
    """An in-process broker (see the module docstring)."""

    def __init__(self, queue_size: int = 10_000) -> None:
        self.retained: dict[str, bytes] = {}
        self.clients: list[LocalClient] = []
        self.queue_size = queue_size
        self.delivered = 0  #: messages delivered to inboxes so far

    def client(self, client_id: str, will: tuple[str, bytes, bool] | None = None) -> LocalClient:
        """A new connected client; ``will``: (topic, payload, retain) sent if it is lost."""
        c = LocalClient(self, client_id, will)
        self.clients.append(c)
        return c

    def _route(self, sender: LocalClient, topic: str, payload: bytes, retain: bool) -> None:
        if "+" in topic or "#" in topic:
            raise ValueError(f"cannot publish to a topic filter: {topic!r}")
        if retain:
            if payload:
                self.retained[topic] = payload
            else:
                self.retained.pop(topic, None)
        for client in self.clients:
            for topic_filter, no_local in client.filters.items():
                if no_local and client is sender:
                    continue
                if topic_matches(topic_filter, topic):
                    client._deliver(Message(topic, payload, False))
                    break


class LocalClient:
    """One connection to a `LocalBus` (implements `Link`)."""

    def __init__(self, bus: LocalBus, client_id: str, will: tuple[str, bytes, bool] | None) -> None:
        self.bus = bus
        self.id = client_id
        self.will = will
        self.filters: dict[str, bool] = {}  #: filter → no_local
        self.inbox: deque[Message] = deque()
        self.dropped = 0
        self.connected = True

    def _deliver(self, message: Message) -> None:
        if len(self.inbox) >= self.bus.queue_size:
            self.dropped += 1
            return
        self.inbox.append(message)
        self.bus.delivered += 1

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        if not self.connected:
            return
        self.bus._route(self, topic, payload, retain)

    def subscribe(self, topic_filter: str, no_local: bool = False) -> None:
        """Subscribe; retained messages matching the filter are delivered at once (as MQTT does)."""
        if not self.connected:
            return
        self.filters[topic_filter] = no_local
        for topic, payload in sorted(self.bus.retained.items()):
            if topic_matches(topic_filter, topic):
                self._deliver(Message(topic, payload, True))

    def receive(self) -> list[Message]:
        out = list(self.inbox)
        self.inbox.clear()
        return out

    def close(self, clean: bool = True) -> None:
        if not self.connected:
            return
        if not clean and self.will is not None:
            topic, payload, retain = self.will
            self.bus._route(self, topic, payload, retain)
        self.connected = False
        self.filters.clear()
        if self in self.bus.clients:
            self.bus.clients.remove(self)


class Fanout:
    """Several drivers on one connection: each `view` is a `Link` of its own that receives what
    matches its own subscriptions (every view's ``receive`` drains the connection for all)."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.views: list[FanoutView] = []

    def view(self) -> FanoutView:
        v = FanoutView(self)
        self.views.append(v)
        return v

    def pump(self) -> None:
        for msg in self.link.receive():
            for v in self.views:
                if any(topic_matches(f, msg.topic) for f in v.filters):
                    v.inbox.append(msg)


class FanoutView:
    """One driver's share of a `Fanout` (implements `Link`; closing it leaves the connection open)."""

    def __init__(self, fanout: Fanout) -> None:
        self.fanout = fanout
        self.filters: list[str] = []
        self.inbox: deque[Message] = deque()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.fanout.link.publish(topic, payload, retain=retain)

    def subscribe(self, topic_filter: str) -> None:
        self.filters.append(topic_filter)
        self.fanout.link.subscribe(topic_filter)

    def receive(self) -> list[Message]:
        self.fanout.pump()
        out = list(self.inbox)
        self.inbox.clear()
        return out

    def close(self, clean: bool = True) -> None:
        if self in self.fanout.views:
            self.fanout.views.remove(self)
