"""The household's configuration: one TOML file, validated, unknown keys rejected.

Each part owns the model of its own section (devices/han → [meter], devices/modbus → [[circuit]],
tariffs → [tariff], optimiser/forecast → [pv], hems/mqtt → [mqtt], hems/control → [[appliance]],
hems/alerts → [alerts], hems/telemetry → [telemetry],
hems/research_jobs → [research_jobs]); this module composes them and turns every
validation error into one line naming the file, the key and what was expected (`UsageError`, exit 2).
"""

from __future__ import annotations

import tomllib
import zoneinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from devices.appliances.drivers.config import OcppConfig
from devices.han.config import MeterConfig
from devices.modbus.config import CircuitConfig
from hems.alerts.config import AlertsConfig
from hems.api.config import ApiConfig
from hems.control.config import ApplianceConfig
from hems.errors import UsageError
from hems.mqtt.config import MqttConfig
from hems.postcode import compact_postcode
from hems.research_jobs.config import ResearchJobsConfig
from hems.telemetry.config import TelemetryConfig
from optimiser.forecast.config import PvConfig
from tariffs.config import TariffConfig


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # bounds are physical


class SiteConfig(_Section):
    id: str = Field("home", pattern=r"^[a-z0-9][a-z0-9-]*$")  #: MQTT site name: hems/<id>/...
    timezone: str = "Europe/Oslo"
    country: str = Field("NO", pattern=r"^[A-Z]{2}$")
    postcode: str | None = None  #: checked by hems.postcode, the definition telemetry cuts by
    latitude: float = Field(59.91, ge=-90, le=90)
    longitude: float = Field(10.75, ge=-180, le=180)
    network: Literal["TN", "IT", "1P"] = "TN"
    voltage_v: float = Field(230.0, gt=0, le=1000)  #: phase-neutral (TN), line-line (IT) or single phase (1P)
    main_fuse_a: float = Field(25.0, gt=0, le=630)  #: a house connection: at most 630 A
    main_fuse_curve: Literal["B", "C", "D", "gG"] = "C"
    #: how the home is mainly heated (groups similar homes for the social comparison; None: not said)
    heating: Literal["heat_pump", "electric_direct", "district", "other"] | None = None
    cycle_seconds: float = Field(10.0, ge=1.0, le=300.0)

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, v: str | None) -> str | None:
        if v is not None:
            compact_postcode(v)
        return v

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"an IANA time zone such as Europe/Oslo, got {value!r}") from None
        return value


class StorageConfig(_Section):
    path: str = "/var/lib/hems/hems.db"
    state_file: str = "/run/hems/state.json"  #: live state for the dashboard (RAM on the Pi)
    batch_seconds: float = Field(60.0, gt=0, le=3600)  #: wall seconds between write transactions
    batch_cycles: int = Field(60, ge=1, le=10_000)  #: ...or this many cycles, whichever comes first
    raw_days: int = Field(14, ge=1, le=3660)  #: 10-s samples kept this long
    frame_days: int = Field(7, ge=0, le=3660)  #: raw meter frames kept this long ...
    frame_max_rows: int = Field(200_000, ge=0, le=100_000_000)  #: ... and at most this many
    minute_days: int = Field(90, ge=1, le=3660)  #: 1-min rollups
    quarter_days: int = Field(3 * 366, ge=1, le=36_600)  #: 15-min rollups
    hour_days: int = Field(10 * 366, ge=1, le=36_600)  #: hourly rollups (daily ones are kept forever)
    event_days: int = Field(2 * 366, ge=1, le=36_600)  #: events (alerts, actions, rejections) ...
    event_max_rows: int = Field(100_000, ge=100, le=100_000_000)  #: ... and at most this many


class ContactConfig(_Section):
    """The household's identity. Never given to telemetry; used only locally (reports' header)."""

    name: str | None = None
    address: str | None = None
    email: str | None = None
    phone: str | None = None
    meter_owner: str | None = None


class HemsConfig(_Section):
    site: SiteConfig = Field(default_factory=SiteConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    meter: MeterConfig | None = None
    circuit: list[CircuitConfig] = Field(default_factory=list)
    tariff: TariffConfig = Field(default_factory=TariffConfig)
    pv: PvConfig | None = None
    mqtt: MqttConfig | None = None
    appliance: list[ApplianceConfig] = Field(default_factory=list)
    ocpp: OcppConfig | None = None  #: the box's OCPP central system (chargers with driver = "ocpp")
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    research_jobs: ResearchJobsConfig = Field(default_factory=ResearchJobsConfig)  #: hems.research_jobs
    contact: ContactConfig = Field(default_factory=ContactConfig)
    api: ApiConfig | None = None  #: the household's own API and phone page (hems.api)

    @property
    def circuits(self) -> list[CircuitConfig]:
        return self.circuit

    @property
    def appliances(self) -> list[ApplianceConfig]:
        return self.appliance

    @model_validator(mode="after")
    def _unique_ids(self) -> HemsConfig:
        for what, items in (("circuit", self.circuit), ("appliance", self.appliance)):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    raise ValueError(f"{what} ids must be unique, {item.id!r} appears twice")
                seen.add(item.id)
        return self


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


#: keys whose values never appear in an error message (secrets and the household's identity)
_PRIVATE = ("password", "token", "secret", "key", "contact", "name", "address", "email", "phone", "postcode")


def _shown(err: Any) -> str:
    """What was given, as an error may show it: a scalar as written; a table or list only by kind
    (a model-level error's input is the whole file, secrets included); private keys never."""
    given = err.get("input")
    if any(isinstance(part, str) and any(p in part.lower() for p in _PRIVATE) for part in err["loc"]):
        return "(not shown: private)"
    if isinstance(given, dict):
        return "a table"
    if isinstance(given, list | tuple):
        return "a list"
    text = repr(given)
    return text if len(text) <= 60 else text[:57] + "..."


def _expected(err: Any) -> str:
    kind = err["type"]
    given = _shown(err)
    if kind == "extra_forbidden":
        return "unknown key (check its spelling; see docs/configuration.md)"
    if kind == "missing":
        return "missing required key"
    msg = str(err["msg"]).removeprefix("Value error, ")
    msg = msg.removeprefix("Input should be ").removeprefix("String should ")
    msg = msg.replace("a valid number, unable to parse string as a number", "a number")
    if kind == "string_pattern_mismatch":
        msg = msg.removeprefix("match pattern ")
        return f"expected text matching {msg}, got {given}"
    if isinstance(err.get("input"), dict) and not err["loc"]:
        return msg  # a rule across the whole file: its message says what is wrong
    return f"expected {msg}, got {given}"


def format_validation_error(source: str, exc: ValidationError) -> str:
    """One line per problem, ``FILE: KEY: what was expected``; the first problem is the headline."""
    return "; ".join(f"{source}: {_location(e['loc'])}: {_expected(e)}" for e in exc.errors())


def parse_config(data: dict[str, Any], source: str = "<config>") -> HemsConfig:
    try:
        return HemsConfig.model_validate(data)
    except ValidationError as exc:
        raise UsageError(format_validation_error(source, exc)) from None


def load_config(path: str | Path) -> HemsConfig:
    """Read and validate a hems.toml; raises `UsageError` (file, key, what was expected)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{p}: is a directory, expected a TOML file") from None
    except (PermissionError, UnicodeDecodeError) as exc:
        raise UsageError(f"{p}: cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{p}: not valid TOML: {exc}") from None
    return parse_config(data, str(p))
