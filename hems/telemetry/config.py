"""Telemetry to the research server ([telemetry] in hems.toml). Owned by telemetry.

The household's identity lives in [contact] (hems.config.ContactConfig), which telemetry code never
receives: it is given only this section and the de-identified site facts.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TelemetryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    consent: bool = False
    endpoint: str | None = None
    token: str | None = None
    ca_file: str | None = None
    resolution_minutes: int = Field(15, ge=1)
    upload_hour: int = Field(3, ge=0, le=23)
