"""Live state from the MQTT broker, for a dashboard that does not run beside the daemon's state file.

Reads the retained ``hems/<site>/state`` (the snapshot the control loop publishes) and
``hems/<site>/status`` (``online``/``offline``, the box's last will). Read-only: a client id of its
own and no last will, so the dashboard coming and going never marks the box offline or pushes the
daemon's own connection off the broker. paho's network thread keeps the newest message; the
dashboard's worker picks it up in `read_state`. History, plan and events still come from the
database (``stored``).
"""

from __future__ import annotations

import copy
import json
import os
import threading
from datetime import datetime
from typing import Any

from tui.source import DataSource, EventRow, SeriesPoint


def from_mqtt_state(doc: dict[str, Any], static: dict[str, Any]) -> dict[str, Any]:
    """The state-file shape from the published one: the config's ``static`` keys ("site",
    "circuit_info") where the message lacks them; ``price_now_per_kwh`` → ``price``;
    ``alerts_active`` → ``alerts``."""
    out = {**copy.deepcopy(static), **doc}
    if "price" not in doc and isinstance(doc.get("price_now_per_kwh"), int | float):
        out["price"] = {"import_per_kwh": doc["price_now_per_kwh"]}
    if "alerts" not in doc and isinstance(doc.get("alerts_active"), list):
        out["alerts"] = [
            {
                "level": a.get("level"),
                "kind": str(a.get("key", "")).split(".")[0],
                "message": a.get("message"),
            }
            for a in doc["alerts_active"]
            if isinstance(a, dict)
        ]
    return out


class MqttSource:
    """A `DataSource`: live state from the broker, everything stored from ``stored``."""

    def __init__(self, config: Any, site: str, stored: DataSource, static: dict[str, Any] | None = None):
        self.config = config  #: a `hems.mqtt.config.MqttConfig` (host, port, credentials, TLS)
        self.site = site
        self.stored = stored
        self.static = static or {}
        self._lock = threading.Lock()
        self._state: dict[str, Any] | None = None
        self._online: bool | None = None
        self._client: Any = None

    def start(self) -> None:
        """Connect in the background (paho's thread); reconnects by itself."""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        c = self.config
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"hems-tui-{self.site}-{os.getpid()}",
            protocol=mqtt.MQTTv5,
        )
        if c.username is not None:
            client.username_pw_set(c.username, c.password)
        if c.tls:
            client.tls_set(ca_certs=c.ca_file, certfile=c.cert_file, keyfile=c.key_file)
        client.reconnect_delay_set(c.reconnect_min_s, c.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.connect_async(c.host, c.port, keepalive=c.keepalive_s)
        client.loop_start()
        self._client = client

    def _on_connect(self, client: Any, userdata: object, flags: object, reason: Any, props: object) -> None:
        if not reason.is_failure:
            client.subscribe([(f"hems/{self.site}/state", 0), (f"hems/{self.site}/status", 1)])

    def _on_message(self, client: Any, userdata: object, msg: Any) -> None:
        if msg.topic.endswith("/status"):
            with self._lock:
                self._online = msg.payload.strip() != b"offline"
            return
        try:
            doc = json.loads(msg.payload)
        except ValueError:
            return  # a half message or a stranger on our topic: keep the last good one
        if isinstance(doc, dict):
            with self._lock:
                self._state = doc

    def read_state(self) -> dict[str, Any] | None:
        if self._client is None:
            self.start()
        with self._lock:
            if self._state is None or self._online is False:
                return None
            return from_mqtt_state(self._state, self.static)

    def series(self, channel: str, start: datetime, end: datetime, resolution: str) -> list[SeriesPoint]:
        return self.stored.series(channel, start, end, resolution)

    def get_doc(self, key: str) -> Any:
        return self.stored.get_doc(key)

    def events(self, start: datetime, end: datetime, kind: str | None = None) -> list[EventRow]:
        return self.stored.events(start, end, kind)

    def close(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
        closer = getattr(self.stored, "close", None)
        if callable(closer):
            closer()
