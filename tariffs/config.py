"""The household's tariff ([tariff] in hems.toml). Owned by tariffs/."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TariffConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grid_company: str | None = None  #: name or GLN of the grid company (Norwegian preset)
    bidding_zone: str = "NO1"
    supplier_markup_per_kwh: float = 0.0
    supplier_monthly_fee: float = 0.0
    main_fuse_a: float | None = None  #: for fuse-size based capacity tariffs; default: [site].main_fuse_a
