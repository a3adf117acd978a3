"""The one module that owns the paho-mqtt client.

paho runs its own network thread (``loop_start``); it reconnects by itself with exponential backoff
(``reconnect_delay_set``). Subscriptions are made in ``on_connect`` so they come back after every
reconnect; the box's retained ``status`` is ``online`` on connect and ``offline`` as last will.
Incoming messages cross to the asyncio loop through a bounded queue (a flood is dropped, never
blocks); `publish` never waits for the network. Callers get `Incoming` messages from `messages()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from hems.mqtt import topics
from hems.mqtt.config import MqttConfig
from hems.mqtt.payloads import MAX_PAYLOAD_BYTES

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message received from the broker."""

    topic: str
    payload: bytes
    retain: bool


class MqttBridge:
    """Connection to the broker for site ``site``; subscribes to ``filters`` (QoS 1, no echo)."""

    def __init__(
        self,
        config: MqttConfig,
        site: str,
        filters: list[str],
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.config = config
        self.site = site
        self.filters = list(filters)
        self.loop = loop
        self.queue: asyncio.Queue[Incoming] = asyncio.Queue(maxsize=config.queue_size)
        self.dropped = 0  #: messages dropped because the queue was full
        self.oversized = 0  #: messages dropped on arrival for their size
        self.connected = threading.Event()
        self.connects = 0  #: successful connections so far (1 + reconnections)
        self.on_connected: list[Callable[[], None]] = []  #: run in the asyncio loop after each connect
        self._stopping = False
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        c = self.config
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=c.client_id or f"hems-{self.site}",
            protocol=mqtt.MQTTv5,
        )
        if c.username is not None:
            client.username_pw_set(c.username, c.password)
        if c.tls:
            client.tls_set(ca_certs=c.ca_file, certfile=c.cert_file, keyfile=c.key_file)
        client.will_set(topics.status(self.site), b"offline", qos=1, retain=True)
        client.reconnect_delay_set(c.reconnect_min_s, c.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    # --- paho's network thread -------------------------------------------------------------------
    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, props: object
    ) -> None:
        if reason.is_failure:
            log.warning(
                "MQTT broker %s:%s refused the connection: %s", self.config.host, self.config.port, reason
            )
            return
        opts = SubscribeOptions(qos=1, noLocal=True)
        if self.filters:
            client.subscribe([(f, opts) for f in self.filters])
        client.publish(topics.status(self.site), b"online", qos=1, retain=True)
        self.connects += 1
        self.connected.set()
        log.info("MQTT connected to %s:%s", self.config.host, self.config.port)
        if self.loop is not None:
            for hook in self.on_connected:
                self._call_in_loop(hook)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, props: object
    ) -> None:
        self.connected.clear()
        if self._stopping:
            log.info("MQTT disconnected")
        else:
            log.warning("MQTT disconnected (%s); paho reconnects with backoff", reason)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        if self.loop is None:
            return
        if len(msg.payload) > MAX_PAYLOAD_BYTES:  # dropped on arrival: never queued, never parsed
            self.oversized += 1
            if self.oversized in (1, 10, 100) or self.oversized % 1000 == 0:
                log.warning(
                    "MQTT: %d oversized messages dropped (> %d bytes)", self.oversized, MAX_PAYLOAD_BYTES
                )
            return
        item = Incoming(msg.topic, bytes(msg.payload), bool(msg.retain))
        self._call_in_loop(lambda: self._enqueue(item))

    def _call_in_loop(self, fn: Callable[[], None]) -> None:
        assert self.loop is not None
        with contextlib.suppress(RuntimeError):  # loop closed while shutting down
            self.loop.call_soon_threadsafe(fn)

    # --- the asyncio side -------------------------------------------------------------------------
    def _enqueue(self, item: Incoming) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
                log.warning("MQTT: %d incoming messages dropped (queue full)", self.dropped)

    def start(self) -> None:
        """Connect in the background (returns at once; paho retries until the broker answers)."""
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
        c = self.config
        # MQTT 5's Maximum Packet Size: the broker does not even send us what we would drop
        props = Properties(PacketTypes.CONNECT)
        props.MaximumPacketSize = MAX_PAYLOAD_BYTES + 1024  # the payload and its topic and headers
        self._client.connect_async(c.host, c.port, keepalive=c.keepalive_s, properties=props)
        self._client.loop_start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Say ``offline`` (retained), disconnect and stop the network thread."""
        self._stopping = True
        if self._client.is_connected():
            info = self._client.publish(topics.status(self.site), b"offline", qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout_s)
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> bool:
        """Queue a message; False when paho refused it (not connected and QoS 0, queue full)."""
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            log.debug("MQTT publish on %s not queued: %s", topic, mqtt.error_string(info.rc))
            return False
        return True

    def drain(self) -> list[Incoming]:
        """Every message received since the last call (never waits)."""
        out = []
        while True:
            try:
                out.append(self.queue.get_nowait())
            except asyncio.QueueEmpty:
                return out
