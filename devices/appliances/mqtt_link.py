"""`MqttLink`: an appliance's connection to a real MQTT broker (paho-mqtt 2, MQTT 5, QoS 1).

paho runs its own network thread; received messages wait in a thread-safe queue until the agent's
next `receive`. Subscriptions are (re)made in ``on_connect``, so they survive a reconnection, and
the last will (the appliance's ``state`` topic: ``offline``, retained) tells the box when the
appliance is gone.
"""

from __future__ import annotations

import logging
import queue
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from devices.appliances.link import Message

log = logging.getLogger(__name__)


class MqttLink:
    """A paho client for one appliance (implements `devices.appliances.link.Link`)."""

    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        will: tuple[str, bytes, bool] | None = None,
        username: str | None = None,
        password: str | None = None,
        queue_size: int = 10_000,
    ) -> None:
        self.host, self.port = host, port
        self._queue: queue.Queue[Message] = queue.Queue(maxsize=queue_size)
        self._filters: list[str] = []
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.dropped = 0
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if username is not None:
            self._client.username_pw_set(username, password)
        if will is not None:
            self._client.will_set(will[0], will[1], qos=1, retain=will[2])
        self._client.reconnect_delay_set(1, 30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.connect_async(host, port, keepalive=30)
        self._client.loop_start()

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, props: object
    ) -> None:
        if reason.is_failure:
            log.warning("appliance link to %s:%s refused: %s", self.host, self.port, reason)
            return
        with self._lock:
            filters = list(self._filters)
        if filters:
            client.subscribe([(f, SubscribeOptions(qos=1, noLocal=True)) for f in filters])
        self.connected.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, props: object
    ) -> None:
        self.connected.clear()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        try:
            self._queue.put_nowait(Message(msg.topic, bytes(msg.payload), bool(msg.retain)))
        except queue.Full:
            self.dropped += 1

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self._client.publish(topic, payload, qos=1, retain=retain)

    def subscribe(self, topic_filter: str) -> None:
        with self._lock:
            if topic_filter not in self._filters:
                self._filters.append(topic_filter)
        if self.connected.is_set():
            self._client.subscribe(topic_filter, options=SubscribeOptions(qos=1, noLocal=True))

    def receive(self) -> list[Message]:
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def close(self, clean: bool = True) -> None:
        """Disconnect (cleanly: no last will), or drop the connection like a lost device (will sent)."""
        if clean:
            self._client.disconnect()
        else:
            # closing the socket without DISCONNECT makes the broker publish the last will
            sock = self._client.socket()
            if sock is not None:
                sock.close()
        self._client.loop_stop()
