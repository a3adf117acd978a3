"""Telemetry to the research server ([telemetry] in hems.toml). Owned by telemetry.

The household's identity lives in [contact] (hems.config.ContactConfig), which telemetry code never
receives: it is given only this section and the de-identified site facts (`SiteFacts`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Channels uploaded unless ``channels`` says otherwise (shell-style patterns on channel names).
DEFAULT_CHANNELS = (
    "grid.p_import_w",
    "grid.p_export_w",
    "pv.p_w",
    "battery.p_w",
    "circuit.*.p_w",
    "appliance.*.p_w",
)


class TelemetryConfig(BaseModel):
    """What is uploaded, where to, and how often. Uploads happen only with ``consent = true``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # bounds are physical

    consent: bool = False  #: the household agreed to share de-identified data
    endpoint: str | None = None  #: base URL, e.g. https://research.example.org/hems/v1
    token: str | None = None  #: per-household bearer token issued by the research server
    ca_file: str | None = None  #: PEM bundle to verify the server with (default: system CAs)
    resolution_minutes: int = Field(15, ge=1, le=1440)  #: of the uploaded readings [min]
    upload_hour: int = Field(3, ge=0, le=23)  #: local hour the daemon uploads at [h]
    channels: list[str] = Field(default_factory=lambda: list(DEFAULT_CHANNELS))
    backfill_days: int = Field(0, ge=0, le=366)  #: complete days before consent also sent [d]
    max_batches_per_attempt: int = Field(7, ge=1, le=1000)  #: spares the server after an outage
    retry_base_minutes: float = Field(30.0, gt=0)  #: first retry delay; doubles each failure [min]
    retry_max_hours: float = Field(24.0, gt=0)  #: ceiling of the retry delay [h]
    timeout_s: float = Field(30.0, gt=0)  #: per HTTPS request [s]

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
