"""MQTT broker connection ([mqtt] in hems.toml). Owned by the MQTT bridge."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MqttConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "localhost"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    keepalive_s: int = 60
    homeassistant_discovery: bool = True
