"""Driver settings: ``driver = "..."`` and ``[appliance.device]`` of an [[appliance]] in hems.toml,
and the box's OCPP server (``[ocpp]``). See docs/appliances.md."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Driver = Literal["hems", "shelly", "shelly-gen1", "tasmota", "ocpp", "sg-ready", "sunspec"]
RELAY_DRIVERS = ("shelly", "shelly-gen1", "tasmota")
_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


def minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


class DeviceOptions(BaseModel):
    """``[appliance.device]``: how to reach the device and what the household needs of it."""

    model_config = ConfigDict(extra="forbid")

    topic: str | None = Field(None, pattern=r"^[^#+\s]+$")  #: a relay's MQTT topic / Shelly id
    channel: int = Field(0, ge=0, le=7)  #: the relay's output (SG Ready: contact A)
    channel_b: int = Field(1, ge=0, le=7)  #: SG Ready: contact B's output
    topic_b: str | None = Field(None, pattern=r"^[^#+\s]+$")  #: SG Ready: contact B on another relay
    charge_point: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,48}$")  #: OCPP id
    password: str | None = Field(None, min_length=8)  #: the charge point's basic-auth password
    unit: Literal["A", "W"] = "A"  #: the charging profile's unit
    phases: Literal[1, 3] = 3
    host: str | None = None  #: a SunSpec inverter's address
    port: int = Field(502, ge=1, le=65535)
    unit_id: int = Field(1, ge=0, le=247)
    energy_kwh: float | None = Field(None, gt=0)  #: each window's need (relay) / a car's session (OCPP)
    #: the daily need's local times, "22:00-07:00", or several: "08:15-17:00, 22:45-06:00"
    window: str | None = Field(None, pattern=r"^\d\d:\d\d-\d\d:\d\d(\s*,\s*\d\d:\d\d-\d\d:\d\d)*$")
    ready_by: str = Field("07:00", pattern=_HHMM)  #: a plugged-in car's departure (local time)
    car_kwh: float | None = Field(None, gt=0, le=250)  #: the car's battery: sessions sized by its SoC
    boost_hours: float = Field(4.0, ge=0, le=24)  #: SG Ready comfort limits
    block_hours: float = Field(4.0, ge=0, le=24)
    max_block_h: float = Field(2.0, ge=0, le=24)
    min_gap_h: float = Field(1.0, ge=0, le=24)
    confirm_s: float = Field(20.0, gt=0)  #: a command not seen in the read-back by then: a fault

    @model_validator(mode="after")
    def _window(self) -> DeviceOptions:
        if self.window is None:
            return self
        taken: set[int] = set()
        for part in self.window.split(","):
            a, b = part.strip().split("-")
            if not (re.match(_HHMM, a) and re.match(_HHMM, b)):
                raise ValueError(f"window {self.window!r}: times are HH:MM")
            if a == b:
                raise ValueError(f"window {part.strip()!r}: starts and ends at the same time")
            span = range(minutes(a), minutes(b) if b > a else minutes(b) + 1440)
            mins = {m % 1440 for m in span}
            if mins & taken:
                raise ValueError(f"window {self.window!r}: the windows overlap")
            taken |= mins
        return self

    def window_minutes(self) -> tuple[tuple[int, int], ...] | None:
        """Each window's (start, end) in local minutes of the day (None: no window)."""
        if self.window is None:
            return None
        pairs = (part.strip().split("-") for part in self.window.split(","))
        return tuple((minutes(a), minutes(b)) for a, b in pairs)


def check_driver(appliance: str, kind: str, driver: str, o: DeviceOptions) -> None:
    """What each driver needs; raises ValueError naming the appliance and the missing setting."""
    need: list[str] = []
    if driver in RELAY_DRIVERS:
        if o.topic is None:
            need.append("device.topic")
        if kind in ("energy", "thermal") and (o.energy_kwh is None or o.window is None):
            need.append("device.energy_kwh and device.window (the daily need)")
    elif driver == "sg-ready":
        if o.topic is None:
            need.append("device.topic (the relay with contacts A and B)")
    elif driver == "ocpp":
        if o.charge_point is None:
            need.append("device.charge_point")
        if kind != "energy":
            raise ValueError(f"appliance {appliance}: the ocpp driver drives kind = 'energy' (a charger)")
    elif driver == "sunspec":
        if o.host is None:
            need.append("device.host")
        if kind != "battery":
            raise ValueError(f"appliance {appliance}: the sunspec driver drives kind = 'battery'")
    if need:
        raise ValueError(f"appliance {appliance}: driver {driver!r} needs {', '.join(need)}")


class OcppConfig(BaseModel):
    """``[ocpp]``: the box's central system for OCPP 1.6J and 2.0.1 charge points."""

    model_config = ConfigDict(extra="forbid")

    host: str = "0.0.0.0"
    port: int = Field(8887, ge=0, le=65535)
    certfile: str | None = None  #: TLS (security profile 2); without it ws:// (profile 1)
    keyfile: str | None = None
