"""Thresholds of the overload warnings ([alerts] in hems.toml; every key has a default).

Site facts (main fuse, its curve, network, voltage) come from [site], circuit breakers from
[[circuit]]; this section only says when to warn, and the two tariff limits that are not breakers.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class AlertsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # bounds are physical

    warn_minutes: float = Field(10.0, gt=0)  #: warn when a trip/disconnection is this close [min]
    alarm_minutes: float = Field(1.0, gt=0)  #: critical when this close [min]
    clear_factor: float = Field(1.5, ge=1.0)  #: a warning clears only beyond factor × its threshold
    hold_s: float = Field(60.0, ge=0)  #: a lower level must persist this long before it is reported [s]
    device_lost_s: float = Field(60.0, ge=0)  #: a device missing this long raises "device lost" [s]

    #: capacity tariff steps (Norwegian "kapasitetsledd"): upper bounds [kW] and price per month
    capacity_step_upper_kw: list[float] | None = None
    capacity_step_price: list[float] | None = None
    capacity_min_elapsed_s: float = Field(300.0, ge=0)  #: do not project the first minutes of an hour
    capacity_margin_kwh: float = Field(0.1, ge=0)  #: warn this far below the step [kWh]

    #: Italian contracted power ("potenza impegnata") and the meter's limiter rule
    contract_kw: float | None = Field(None, gt=0)
    contract_available_factor: float = Field(1.10, ge=1.0)
    contract_fast_factor: float = Field(4.0 / 3.0, ge=1.0)
    contract_fast_s: float = Field(120.0, gt=0)
    contract_slow_s: float = Field(3 * 3600.0, gt=0)

    @model_validator(mode="after")
    def _steps(self) -> AlertsConfig:
        bounds, prices = self.capacity_step_upper_kw, self.capacity_step_price
        if (bounds is None) != (prices is None):
            raise ValueError("capacity_step_upper_kw and capacity_step_price go together")
        if bounds is not None and prices is not None:
            if len(prices) != len(bounds) + 1:
                raise ValueError("capacity_step_price needs one more entry than capacity_step_upper_kw")
            if bounds != sorted(bounds) or prices != sorted(prices):
                raise ValueError("capacity steps and prices must be increasing")
        if self.alarm_minutes > self.warn_minutes:
            raise ValueError("alarm_minutes must not exceed warn_minutes")
        return self
