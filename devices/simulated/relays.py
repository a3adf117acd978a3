"""Simulated relays that speak like the real ones (devices/appliances/drivers/relays.py): a Shelly
Gen2/Gen3, a Shelly Gen1 and a Tasmota on a `Link` (a real broker or the in-process bus).

Behind each is a `Load`: a constant one (``load_w`` when on), or one of the twin's appliances, which
the relay switches to full power or off. A relay can misbehave for tests and the bench:
``mute`` (takes commands, never answers), ``manual`` (switched by hand: ignores the box),
``garbage`` (answers with junk).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

from devices.appliances.link import Link


class Load(Protocol):
    def switch(self, now: datetime, on: bool) -> None: ...

    def power_w(self, now: datetime) -> float: ...


class ConstantLoad:
    """A resistive load: ``load_w`` when on."""

    def __init__(self, load_w: float) -> None:
        self.load_w = load_w
        self.on = False

    def switch(self, now: datetime, on: bool) -> None:
        self.on = on

    def power_w(self, now: datetime) -> float:
        return self.load_w if self.on else 0.0


class TwinLoad:
    """One of the twin's appliances behind the relay: on is full power (its own thermostat), off is 0."""

    def __init__(self, device: Any) -> None:
        self.device = device

    def switch(self, now: datetime, on: bool) -> None:
        self.device.set_power(now, None if on else 0.0)

    def power_w(self, now: datetime) -> float:
        return float(self.device.power_w(now))


class SimRelay:
    """What the three dialects share: the output, the energy counter, periodic reports."""

    def __init__(
        self, link: Link, topic: str, load: Load, channel: int = 0, report_s: float = 30.0, mode: str = "ok"
    ) -> None:
        self.link, self.topic, self.load, self.channel = link, topic, load, channel
        self.report_s = report_s
        self.mode = mode
        self.output = False
        self.energy_wh = 0.0
        self._last: datetime | None = None
        self._reported: datetime | None = None
        self.commands = 0
        for f in self.filters():
            link.subscribe(f)
        self.online()

    def filters(self) -> list[str]:
        raise NotImplementedError

    def online(self) -> None: ...

    def handle(self, topic: str, payload: bytes, now: datetime) -> None:
        raise NotImplementedError

    def report(self, now: datetime) -> None:
        raise NotImplementedError

    def set_output(self, now: datetime, on: bool) -> None:
        self.commands += 1
        if self.mode == "manual":
            return  # switched by hand: it stays as it is
        self.output = on
        self.load.switch(now, on)

    def power_w(self, now: datetime) -> float:
        return self.load.power_w(now) if self.output else 0.0

    def tick(self, now: datetime) -> None:
        if self._last is not None and now > self._last:
            self.energy_wh += self.power_w(self._last) * (now - self._last).total_seconds() / 3600.0
        self._last = now
        for msg in self.link.receive():
            try:
                self.handle(msg.topic, msg.payload, now)
            except (ValueError, TypeError, KeyError):  # a real relay ignores what it cannot read
                continue
        due = self._reported is None or (now - self._reported).total_seconds() >= self.report_s
        if due:
            self._report(now)

    def _report(self, now: datetime) -> None:
        self._reported = now
        if self.mode == "mute":
            return
        if self.mode == "garbage":
            for topic in self.filters_out():
                self.link.publish(topic, b"\xff{not json")
            return
        self.report(now)

    def filters_out(self) -> list[str]:
        """The topics it reports on (where ``garbage`` goes)."""
        raise NotImplementedError


class SimShellyGen2(SimRelay):
    def filters(self) -> list[str]:
        return [f"{self.topic}/rpc"]

    def online(self) -> None:
        self.link.publish(f"{self.topic}/online", b"true", retain=True)

    def filters_out(self) -> list[str]:
        return [f"{self.topic}/events/rpc"]

    def _status(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.channel,
            "source": "MQTT",
            "output": self.output,
            "apower": round(self.power_w(now), 1),
            "voltage": 231.2,
            "aenergy": {"total": round(self.energy_wh, 3)},
        }

    def handle(self, topic: str, payload: bytes, now: datetime) -> None:
        doc = json.loads(payload)
        if doc.get("params", {}).get("id", 0) != self.channel:
            return  # the other channel's
        result: dict[str, Any]
        if doc["method"] == "Switch.Set":
            was = self.output
            self.set_output(now, bool(doc["params"]["on"]))
            result = {"was_on": was}
        elif doc["method"] == "Switch.GetStatus":
            result = self._status(now)
        else:
            result = {}
        if self.mode == "ok" or self.mode == "manual":
            answer = {"id": doc["id"], "src": self.topic, "dst": doc["src"], "result": result}
            self.link.publish(f"{doc['src']}/rpc", json.dumps(answer).encode())
            if doc["method"] == "Switch.Set":
                self._report(now)
        elif self.mode == "garbage":
            self.link.publish(f"{doc['src']}/rpc", b"<html>500</html>")

    def report(self, now: datetime) -> None:
        params = {"ts": now.timestamp(), f"switch:{self.channel}": self._status(now)}
        doc = {"src": self.topic, "dst": f"{self.topic}/events", "method": "NotifyStatus", "params": params}
        self.link.publish(f"{self.topic}/events/rpc", json.dumps(doc).encode())


class SimShellyGen1(SimRelay):
    @property
    def base(self) -> str:
        return f"shellies/{self.topic}/relay/{self.channel}"

    def filters(self) -> list[str]:
        return [f"{self.base}/command"]

    def online(self) -> None:
        self.link.publish(f"shellies/{self.topic}/online", b"true", retain=True)

    def filters_out(self) -> list[str]:
        return [self.base, f"{self.base}/power"]

    def handle(self, topic: str, payload: bytes, now: datetime) -> None:
        self.set_output(now, payload.strip().lower() == b"on")
        self._report(now)

    def report(self, now: datetime) -> None:
        self.link.publish(self.base, b"on" if self.output else b"off")
        self.link.publish(f"{self.base}/power", f"{self.power_w(now):.2f}".encode())
        self.link.publish(f"{self.base}/energy", f"{self.energy_wh * 60:.0f}".encode())


class SimTasmota(SimRelay):
    @property
    def power_word(self) -> str:
        return "POWER" if self.channel == 0 else f"POWER{self.channel}"

    def filters(self) -> list[str]:
        return [f"cmnd/{self.topic}/+"]

    def online(self) -> None:
        self.link.publish(f"tele/{self.topic}/LWT", b"Online", retain=True)

    def filters_out(self) -> list[str]:
        return [f"tele/{self.topic}/SENSOR"]

    def _energy(self, now: datetime) -> dict[str, Any]:
        return {"Total": round(self.energy_wh / 1000.0, 3), "Power": round(self.power_w(now)), "Voltage": 231}

    def handle(self, topic: str, payload: bytes, now: datetime) -> None:
        leaf = topic.rsplit("/", 1)[-1]
        quiet = self.mode == "mute"
        if leaf.upper() == self.power_word:
            word = payload.strip().upper()
            self.set_output(now, not self.output if word == b"TOGGLE" else word in (b"ON", b"1"))
            if not quiet:
                state = {self.power_word: "ON" if self.output else "OFF"}
                self.link.publish(f"stat/{self.topic}/RESULT", json.dumps(state).encode())
        elif leaf.lower() == "status" and payload.strip() == b"8" and not quiet:
            if self.mode == "garbage":
                self.link.publish(f"stat/{self.topic}/STATUS8", b"{]")
                return
            doc = {"StatusSNS": {"Time": now.isoformat(), "ENERGY": self._energy(now)}}
            self.link.publish(f"stat/{self.topic}/STATUS8", json.dumps(doc).encode())

    def report(self, now: datetime) -> None:
        state = {self.power_word: "ON" if self.output else "OFF"}
        self.link.publish(f"tele/{self.topic}/STATE", json.dumps(state).encode())
        doc = {"Time": now.isoformat(), "ENERGY": self._energy(now)}
        self.link.publish(f"tele/{self.topic}/SENSOR", json.dumps(doc).encode())


SIM_RELAYS: dict[str, type[SimRelay]] = {
    "shelly": SimShellyGen2,
    "shelly-gen1": SimShellyGen1,
    "tasmota": SimTasmota,
}
