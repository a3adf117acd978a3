"""MQTT broker connection ([mqtt] in hems.toml). Owned by the MQTT bridge."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class MqttConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # bounds are physical

    host: str = "localhost"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None  #: CA bundle that signed the broker's certificate (TLS)
    cert_file: str | None = None  #: client certificate (TLS client authentication)
    key_file: str | None = None
    keepalive_s: int = Field(60, ge=5, le=3600)
    client_id: str | None = None  #: default "hems-<site>"
    reconnect_min_s: int = Field(1, ge=1)  #: reconnect backoff, doubling up to reconnect_max_s [s]
    reconnect_max_s: int = Field(120, ge=1)
    homeassistant_discovery: bool = True
    homeassistant_prefix: str = Field("homeassistant", pattern=r"^[A-Za-z0-9_-]+$")
    resend_s: float = Field(60.0, ge=1.0)  #: re-send an unacknowledged schedule after [s]
    queue_size: int = Field(1000, ge=10)  #: incoming messages buffered; beyond that they are dropped

    @model_validator(mode="after")
    def _pairs(self) -> MqttConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a username")
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError("reconnect_min_s must not exceed reconnect_max_s")
        return self
