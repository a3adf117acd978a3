"""Payloads on the MQTT topics (pure): strict models, parsed with a size limit and a reason.

Appliance → hems: `ApplianceRequest` (``request``), `Ack` (``ack``), `ApplianceStatus` (``state``).
Hems → appliance: `Schedule` (``schedule``, retained), `Command` (``set``), `Rejection` (``ack``).
Every parse error becomes `PayloadError` with one line saying what was wrong; nothing else escapes.
Examples are in docs/control.md.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from devices.natures import ApplianceState

MAX_PAYLOAD_BYTES = 16 * 1024  #: larger payloads are refused before parsing
MAX_CONTAINERS = 64  #: arrays and objects in one payload (the protocol's need a handful)
MAX_WINDOW = timedelta(hours=48)  #: longest request window
MAX_PROFILE_SLOTS = 192


M = TypeVar("M", bound=BaseModel)


class PayloadError(ValueError):
    """A payload that cannot be accepted; the message is the reason sent back."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class ApplianceRequest(_Strict):
    """ "I need to run": a program's power profile or an energy need, inside a time window."""

    seq: int = Field(ge=0, le=2**53)  #: increases with every request of this appliance (replays refused)
    kind: Literal["shiftable", "energy", "cancel"]
    earliest_start: AwareDatetime | None = None
    latest_end: AwareDatetime | None = None
    slot_minutes: Literal[15, 60] = 15  #: resolution of ``profile_kw``
    profile_kw: list[float] | None = Field(None, min_length=1, max_length=MAX_PROFILE_SLOTS)  #: [kW]
    energy_kwh: float | None = Field(None, gt=0, le=200)  #: [kWh]
    min_kw: float = Field(0.0, ge=0, le=50)  #: [kW]
    max_kw: float | None = Field(None, gt=0, le=50)  #: [kW]
    interruptible: bool | None = None  #: may the box pause it (shedding); default from config

    @model_validator(mode="after")
    def _consistent(self) -> ApplianceRequest:
        if self.kind == "cancel":
            return self
        if self.earliest_start is None or self.latest_end is None:
            raise ValueError("earliest_start and latest_end are required")
        window = self.latest_end - self.earliest_start
        if window <= timedelta(0):
            raise ValueError("latest_end must be after earliest_start")
        if window > MAX_WINDOW:
            raise ValueError(f"window longer than {MAX_WINDOW}")
        if self.kind == "shiftable":
            if not self.profile_kw or self.energy_kwh is not None:
                raise ValueError("a shiftable request has profile_kw and no energy_kwh")
            if any(not 0 <= p <= 50 for p in self.profile_kw):
                raise ValueError("profile_kw values must be within 0..50 kW")
            if timedelta(minutes=self.slot_minutes * len(self.profile_kw)) > window:
                raise ValueError("the program is longer than its window")
        else:
            if self.energy_kwh is None or self.max_kw is None or self.profile_kw is not None:
                raise ValueError("an energy request has energy_kwh and max_kw and no profile_kw")
            if self.min_kw > self.max_kw:
                raise ValueError("min_kw must not exceed max_kw")
            if self.energy_kwh > self.max_kw * window.total_seconds() / 3600:
                raise ValueError("energy_kwh cannot be delivered within the window at max_kw")
        return self


class Ack(_Strict):
    """The appliance's answer to a schedule version."""

    version: int = Field(ge=1, le=2**53)
    accepted: bool = True
    reason: str | None = Field(None, max_length=200)


class Schedule(_Strict):
    """A versioned schedule for one appliance (retained, QoS 1); an empty payload cancels."""

    version: int  #: increases with every schedule of this appliance, across restarts
    seq: int  #: the request it answers
    issued: AwareDatetime
    start: AwareDatetime | None  #: when to start (shiftable), or the first slot with power
    slot_start: AwareDatetime  #: start of power_kw[0]
    slot_minutes: int
    power_kw: list[float]  #: planned power per slot [kW]
    #: a battery's own planned power per slot (charge +) beside its grid aim in power_kw [kW]
    battery_kw: list[float] | None = None


class Command(_Strict):
    """An immediate command on ``set`` (relays, shedding)."""

    action: Literal["start", "stop", "limit"]
    limit_kw: float | None = Field(None, ge=0)  #: with "limit" [kW]
    time: AwareDatetime
    reason: str = ""


class Rejection(_Strict):
    """Why hems refused a message; written by hems on the appliance's ``ack`` topic."""

    source: Literal["hems"] = "hems"
    rejected: Literal["request", "ack", "state"]
    reason: str
    time: AwareDatetime
    seq: int | None = None
    version: int | None = None


class ApplianceStatus(_Strict):
    """What an appliance says about itself on ``state`` (or the bare words online/offline)."""

    online: bool
    running: bool = False
    p_w: float | None = Field(None, ge=-100_000, le=100_000)  #: [W]; negative: feeding (a battery)
    program: str | None = Field(None, max_length=64)
    remaining_kwh: float | None = Field(None, ge=0, le=200)  #: energy still needed of the request [kWh]
    soc_kwh: float | None = Field(None, ge=0, le=1000)  #: a battery's stored energy [kWh]

    def to_state(self, time: datetime) -> ApplianceState:
        return ApplianceState(
            time=time,
            online=self.online,
            running=self.running,
            p_w=self.p_w,
            program=self.program,
            remaining_kwh=self.remaining_kwh,
            soc_kwh=self.soc_kwh,
        )


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "payload"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}"


def _too_nested(raw: bytes) -> bool:
    """More arrays and objects than any payload of the protocol holds (checked before parsing, at
    C speed: a 2500-level document must be refused, not recursed into)."""
    return raw.count(b"[") + raw.count(b"{") > MAX_CONTAINERS


def _parse(model: type[M], raw: bytes) -> M:
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"payload of {len(raw)} bytes is larger than {MAX_PAYLOAD_BYTES}")
    if _too_nested(raw):
        raise PayloadError(f"payload holds more than {MAX_CONTAINERS} arrays and objects")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise PayloadError(_first_error(exc)) from None


def parse_request(raw: bytes) -> ApplianceRequest:
    return _parse(ApplianceRequest, raw)


def parse_ack(raw: bytes) -> Ack:
    return _parse(Ack, raw)


def parse_status(raw: bytes) -> ApplianceStatus:
    """``{"online": true, ...}`` or the bare words ``online`` / ``offline`` (a last will)."""
    word = raw.strip().lower()
    if word in (b"online", b"offline"):
        return ApplianceStatus.model_validate({"online": word == b"online"})
    return _parse(ApplianceStatus, raw)


def is_from_hems(raw: bytes) -> bool:
    """True for hems's own messages on a shared topic (its rejections on ``ack``)."""
    if len(raw) > MAX_PAYLOAD_BYTES or not raw.startswith(b"{") or _too_nested(raw):
        return False
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and doc.get("source") == "hems"


def dump(model: BaseModel) -> bytes:
    """Compact JSON bytes of a payload model."""
    return model.model_dump_json(exclude_none=False).encode()
