"""Controllable appliances ([[appliance]] in hems.toml). Owned by control."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from devices.appliances.drivers.config import DeviceOptions, Driver, check_driver


class ApplianceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # bounds are physical

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    #: shiftable (program with a power profile), energy (EV), thermal (water heater), battery, or a
    #: relay/smart plug in front of a dumb appliance: the box switches it on ``set`` at planned times
    kind: Literal["shiftable", "energy", "thermal", "battery", "relay"]
    line: str = "3P"
    circuit: str | None = None  #: the fuse circuit it is on
    priority: int = 5  #: load shedding: lower numbers are shed first
    sheddable: bool = False  #: opt in to load shedding
    interruptible: bool = False  #: may be paused mid-program (never shed when False)
    shed_action: Literal["stop", "limit"] = "stop"  #: "limit" sends limit_kw (EV charging current)
    min_kw: float = Field(0.0, ge=0)  #: lowest useful limit for "limit" (EV: 6 A ≈ 1.4 kW) [kW]
    power_kw: float | None = Field(None, gt=0)  #: nominal power (a battery's inverter) [kW]
    capacity_kwh: float | None = Field(None, gt=0)  #: a battery's usable capacity [kWh]
    efficiency: float = Field(0.95, gt=0, le=1)  #: a battery's one-way efficiency [-]
    #: who speaks for it: "hems" (the appliance speaks the box's protocol itself) or a driver the box
    #: runs (docs/appliances.md), set up by ``[appliance.device]``
    driver: Driver = "hems"
    device: DeviceOptions = Field(default_factory=lambda: DeviceOptions.model_validate({}))

    @model_validator(mode="after")
    def _relay_power(self) -> ApplianceConfig:
        if self.kind == "relay" and self.power_kw is None:
            raise ValueError(f"appliance {self.id}: a relay needs power_kw (what it switches) [kW]")
        if self.kind == "battery" and (self.power_kw is None or self.capacity_kwh is None):
            raise ValueError(f"appliance {self.id}: a battery needs capacity_kwh and power_kw [kWh, kW]")
        if self.driver != "hems":
            check_driver(self.id, self.kind, self.driver, self.device)
            if self.driver not in ("sg-ready",) and self.power_kw is None:
                raise ValueError(f"appliance {self.id}: driver {self.driver!r} needs power_kw [kW]")
        return self
