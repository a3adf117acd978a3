"""Telemetry to the research server ([telemetry] in hems.toml). Owned by telemetry.

The household's identity lives in [contact] (hems.config.ContactConfig), which telemetry code never
receives: it is given only this section and the de-identified site facts (`SiteFacts`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Channels uploaded unless ``channels`` says otherwise (shell-style patterns on channel names).
DEFAULT_CHANNELS = (
    "grid.p_import_w",
    "grid.p_export_w",
    "pv.p_w",
    "battery.p_w",
    "circuit.*.p_w",
    "appliance.*.p_w",
)

#: Channels of a raw batch (``resolution = "raw"``) unless ``channels`` says otherwise: the 10-s
#: samples the research platform asks for: per-phase voltage and current, import/export, circuits.
RAW_CHANNELS = (
    "grid.p_import_w",
    "grid.p_export_w",
    "grid.i_l*_a",
    "grid.u_l*_v",
    "pv.p_w",
    "battery.p_w",
    "circuit.*.p_w",
    "circuit.*.i_a",
    "circuit.*.i_l*_a",
    "appliance.*.p_w",
)

#: The slot of a raw batch [s]: the daemon's cycle (samples of another cadence are averaged into it)
RAW_SECONDS = 10


class TelemetryConfig(BaseModel):
    """What is uploaded, where to, and how often. Uploads happen only with ``consent = true``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # bounds are physical

    consent: bool = False  #: the household agreed to share de-identified data
    endpoint: str | None = None  #: base URL, e.g. https://research.example.org/hems/v1
    token: str | None = None  #: per-household bearer token issued by the research server
    ca_file: str | None = None  #: PEM bundle to verify the server with (default: system CAs)
    #: "slots": means over ``resolution_minutes``; "raw": every 10-s sample (one batch a day still)
    resolution: Literal["slots", "raw"] = "slots"
    resolution_minutes: int = Field(15, ge=1, le=1440)  #: of the uploaded readings [min]
    upload_hour: int = Field(3, ge=0, le=23)  #: local hour the daemon uploads at [h]
    channels: list[str] = Field(default_factory=lambda: list(DEFAULT_CHANNELS))
    backfill_days: int = Field(0, ge=0, le=366)  #: complete days before consent also sent [d]
    max_batches_per_attempt: int = Field(7, ge=1, le=1000)  #: spares the server after an outage
    retry_base_minutes: float = Field(30.0, gt=0)  #: first retry delay; doubles each failure [min]
    retry_max_hours: float = Field(24.0, gt=0)  #: ceiling of the retry delay [h]
    timeout_s: float = Field(30.0, gt=0)  #: per HTTPS request [s]
    #: with consent, the daily upload also fetches how similar homes used energy (docs/telemetry.md)
    comparison: bool = False

    @model_validator(mode="before")
    @classmethod
    def _raw_channels(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("resolution") == "raw" and "channels" not in data:
            return {**data, "channels": list(RAW_CHANNELS)}
        return data

    @field_validator("endpoint")
    @classmethod
    def _https_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError(f"an https:// URL (telemetry is never sent in clear text), got {value!r}")
        return value.rstrip("/") if value else value

    @field_validator("resolution_minutes")
    @classmethod
    def _divides_day(cls, value: int) -> int:
        if 1440 % value:
            raise ValueError(f"a number of minutes that divides a day (1, 5, 15, 60 ...), got {value}")
        return value
