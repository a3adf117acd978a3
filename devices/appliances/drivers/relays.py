"""Relays over MQTT: Shelly Gen2/Gen3 (RPC), Shelly Gen1 and Tasmota, each an `Actuator` on a `Link`.

- **Shelly Gen2/Gen3** (``driver = "shelly"``): ``Switch.Set`` and ``Switch.GetStatus`` RPCs on
  ``<topic>/rpc`` (answers on ``<client>/rpc``); ``NotifyStatus`` on ``<topic>/events/rpc`` and
  ``<topic>/status/switch:<n>`` carry ``output``, ``apower`` [W] and ``aenergy.total`` [Wh];
  ``<topic>/online`` is its last will.
- **Shelly Gen1** (``driver = "shelly-gen1"``): ``shellies/<id>/relay/<n>/command`` ``on``/``off``;
  ``shellies/<id>/relay/<n>`` (state), ``…/power`` [W], ``…/energy`` [W·min], ``shellies/<id>/online``.
- **Tasmota** (``driver = "tasmota"``): ``cmnd/<topic>/POWER<n>`` ``ON``/``OFF`` and ``Status 8``;
  ``stat/<topic>/RESULT`` / ``stat/<topic>/POWER<n>``, ``tele/<topic>/SENSOR`` and
  ``stat/<topic>/STATUS8`` (``ENERGY.Power`` [W], ``ENERGY.Total`` [kWh]), ``tele/<topic>/LWT``.

After a switch the driver asks for the status at once, so the read-back comes within a cycle; an
unconfirmed switch is sent again every ``resend_s``. A payload it cannot read is a problem reported
to the host (an event), never an exception.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from devices.appliances.drivers.base import Reading
from devices.appliances.link import Link


class _Relay:
    """What the three relay dialects share: state kept from messages, resends, problems."""

    def __init__(self, appliance_id: str, link: Link, topic: str, channel: int, max_w: float) -> None:
        self.id = appliance_id
        self.link = link
        self.topic = topic
        self.channel = channel
        self.max_w = max_w
        self.resend_s = 5.0
        self.want: bool | None = None
        self.sent_at: datetime | None = None
        self.reading: Reading | None = None
        self._problems: list[str] = []
        for f in self.filters():
            link.subscribe(f)

    # the dialect
    def filters(self) -> list[str]:
        raise NotImplementedError

    def send(self, on: bool) -> None:
        raise NotImplementedError

    def parse(self, topic: str, payload: bytes) -> dict[str, Any] | None:
        """Fields of `Reading` a message carries (``online``: False for a last will); None: not ours."""
        raise NotImplementedError

    # the Actuator
    def command(self, now: datetime, w: float | None) -> None:
        on = w is None or w > 0
        if on != self.want:
            self.want, self.sent_at = on, now
            self.send(on)

    def poll(self, now: datetime) -> Reading | None:
        for msg in self.link.receive():
            try:
                fields = self.parse(msg.topic, msg.payload)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                text = msg.payload[:60].decode(errors="replace")
                self._problems.append(f"{self.id}: unreadable message on {msg.topic} ({exc}): {text!r}")
                continue
            if fields is None:
                continue
            if fields.pop("online", True) is False:
                self.reading = None  # its last will: nothing it said before holds
                continue
            base = self.reading or Reading(now, None, None)
            self.reading = replace(base, at=now, **fields)
        r = self.reading
        due = self.sent_at is not None and (now - self.sent_at).total_seconds() >= self.resend_s
        if self.want is not None and due and (r is None or r.on != self.want):
            self.sent_at = now
            self.send(self.want)
        return self.reading

    def problems(self) -> list[str]:
        out, self._problems = self._problems, []
        return out

    def close(self) -> None:
        self.link.close()


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a number: {value!r}")
    return float(value)


def _on_off(text: bytes | str) -> bool:
    word = (text.decode() if isinstance(text, bytes) else text).strip().lower()
    if word not in ("on", "off"):
        raise ValueError(f"neither on nor off: {word!r}")
    return word == "on"


class ShellyGen2(_Relay):
    """A Shelly Gen2/Gen3 switch (Plus, Pro, Mini); ``topic``: its MQTT prefix (shellyplus1pm-a80…)."""

    _ids = 0

    def filters(self) -> list[str]:
        self.src = f"hems-{self.id}"
        return [
            f"{self.topic}/events/rpc",
            f"{self.topic}/status/switch:{self.channel}",
            f"{self.topic}/online",
            f"{self.src}/rpc",
        ]

    def _rpc(self, method: str, params: dict[str, Any]) -> None:
        ShellyGen2._ids += 1
        doc = {"id": ShellyGen2._ids, "src": self.src, "method": method, "params": params}
        self.link.publish(f"{self.topic}/rpc", json.dumps(doc).encode())

    def send(self, on: bool) -> None:
        self._rpc("Switch.Set", {"id": self.channel, "on": on})
        self._rpc("Switch.GetStatus", {"id": self.channel})

    def parse(self, topic: str, payload: bytes) -> dict[str, Any] | None:
        if topic == f"{self.topic}/online":
            return {"online": payload.strip() == b"true"}
        doc = json.loads(payload)
        if topic == f"{self.src}/rpc":
            if "error" in doc:
                raise ValueError(f"RPC error {doc['error']}")
            status = doc.get("result")
            if not isinstance(status, dict) or "output" not in status:
                return None  # Switch.Set's answer (was_on): the status follows
        elif topic.endswith("/events/rpc"):
            if doc.get("method") not in ("NotifyStatus", "NotifyFullStatus"):
                return None
            status = doc["params"].get(f"switch:{self.channel}")
            if status is None:
                return None
        else:
            status = doc
        return self._fields(status)

    @staticmethod
    def _fields(status: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "output" in status:
            if not isinstance(status["output"], bool):
                raise TypeError(f"output is not a boolean: {status['output']!r}")
            out["on"] = status["output"]
        if "apower" in status:
            out["p_w"] = _float(status["apower"])
        if "aenergy" in status:
            out["energy_wh"] = _float(status["aenergy"]["total"])
        return out


class ShellyGen1(_Relay):
    """A Shelly Gen1 relay (1PM, 2.5, Plug S), ``topic`` its id, e.g. ``shelly1pm-84CCA8A11111``."""

    def filters(self) -> list[str]:
        base = f"shellies/{self.topic}"
        return [f"{base}/relay/{self.channel}", f"{base}/relay/{self.channel}/+", f"{base}/online"]

    def send(self, on: bool) -> None:
        self.link.publish(f"shellies/{self.topic}/relay/{self.channel}/command", b"on" if on else b"off")

    def parse(self, topic: str, payload: bytes) -> dict[str, Any] | None:
        base = f"shellies/{self.topic}"
        relay = f"{base}/relay/{self.channel}"
        if topic == f"{base}/online":
            return {"online": payload.strip() == b"true"}
        if topic == relay:
            word = payload.decode().strip().lower()
            if word == "overpower":
                return {"on": False}
            return {"on": _on_off(word)}
        if topic == f"{relay}/power":
            return {"p_w": float(payload)}
        if topic == f"{relay}/energy":
            return {"energy_wh": float(payload) / 60.0}  # W·min
        return None


class Tasmota(_Relay):
    """A Tasmota relay (Sonoff POW, Athom plug), ``topic`` its ``%topic%``; channel 0 is ``POWER``."""

    def filters(self) -> list[str]:
        return [f"stat/{self.topic}/+", f"tele/{self.topic}/+"]

    @property
    def _power(self) -> str:
        return "POWER" if self.channel == 0 else f"POWER{self.channel}"

    def send(self, on: bool) -> None:
        self.link.publish(f"cmnd/{self.topic}/{self._power}", b"ON" if on else b"OFF")
        self.link.publish(f"cmnd/{self.topic}/Status", b"8")

    def parse(self, topic: str, payload: bytes) -> dict[str, Any] | None:
        leaf = topic.rsplit("/", 1)[-1]
        if leaf == "LWT":
            return {"online": payload.strip() == b"Online"}
        if leaf == self._power:
            return {"on": _on_off(payload)}
        if leaf not in ("RESULT", "STATE", "SENSOR", "STATUS8"):
            return None
        doc = json.loads(payload)
        if not isinstance(doc, dict):
            raise TypeError("not a JSON object")
        out: dict[str, Any] = {}
        if self._power in doc:
            out["on"] = _on_off(doc[self._power])
        energy = doc.get("ENERGY") or (doc.get("StatusSNS") or {}).get("ENERGY")
        if energy is not None:
            power = energy["Power"]
            out["p_w"] = _float(power[max(self.channel - 1, 0)] if isinstance(power, list) else power)
            if "Total" in energy:
                out["energy_wh"] = _float(energy["Total"]) * 1000.0
        return out or None


RELAYS: dict[str, type[_Relay]] = {"shelly": ShellyGen2, "shelly-gen1": ShellyGen1, "tasmota": Tasmota}
