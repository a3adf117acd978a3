"""Controllable appliances ([[appliance]] in hems.toml). Owned by control."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ApplianceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    kind: Literal["shiftable", "energy", "thermal", "battery", "relay"]
    line: str = "3P"
    circuit: str | None = None  #: the fuse circuit it is on
    priority: int = 5  #: load shedding: lower numbers are shed first
    sheddable: bool = False
    interruptible: bool = False
