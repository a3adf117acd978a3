"""The household's tariff ([tariff] in hems.toml). Owned by tariffs/.

Prices here are excluding VAT (as regulation and tariff sheets state them); VAT is added by
region (`vat_region`) or by `vat_rate`. Currency: the country's (NOK in Norway, EUR in Italy).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from tariffs.bands import DAY_ALIASES, DAY_WORDS, parse_hours


class BandConfig(BaseModel):
    """One user-defined time-of-use band ([[tariff.band]]): first match wins."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # bounds are physical

    name: str
    price_per_kwh: float  #: [currency/kWh] excl. VAT
    days: list[str] = Field(default_factory=lambda: ["all"])  #: mon..sun, weekday, weekend, holiday...
    hours: str = "0-23"  #: local hours, inclusive ranges: "6-21", "22-5", "7,19-22"
    months: list[int] = Field(default_factory=lambda: list(range(1, 13)))

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        for d in value:
            if DAY_ALIASES.get(d, d) not in DAY_WORDS:
                raise ValueError(f"day kinds from {', '.join(DAY_WORDS)}; got {d!r}")
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        parse_hours(value)
        return value

    @field_validator("months")
    @classmethod
    def _months(cls, value: list[int]) -> list[int]:
        if any(not 1 <= m <= 12 for m in value):
            raise ValueError(f"months 1-12, got {value}")
        return value


class TariffConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # bounds are physical

    grid_company: str | None = None  #: name or GLN of the grid company (Norwegian preset)
    grid_area: str | None = None  #: for companies with several tariffs by area (Tensio: "Nord")
    customer_group: Literal["husholdning", "fritid"] = "husholdning"  #: home or holiday home
    bidding_zone: str = "NO1"
    spot: bool = True  #: power bought at the spot price (else only bands/fixed prices)
    currency_per_eur: float = Field(11.5, gt=0)  #: exchange rate for ENTSO-E prices (NOK per EUR)
    #: "norges_bank": the day's reference rate, with currency_per_eur as the fallback
    exchange_rate: Literal["fixed", "norges_bank"] = "fixed"
    norges_bank_url: str = "https://data.norges-bank.no/api/data/EXR"  #: (tests: a local server)
    entsoe_token: str | None = None  #: ENTSO-E Transparency API token (prices fetched when set)
    entsoe_url: str = "https://web-api.tp.entsoe.eu/api"  #: the API's address (tests: a local server)
    entsoe_timeout_s: float = Field(10.0, gt=0, le=120)
    support_scheme: Literal["stromstotte", "norgespris", "none"] = "stromstotte"
    supplier_markup_per_kwh: float = 0.0  #: [currency/kWh] excl. VAT, on imported energy
    supplier_monthly_fee: float = 0.0  #: [currency/month] excl. VAT
    export_markup_per_kwh: float = 0.0  #: added to spot for exported energy (negative: a fee)
    vat_region: Literal["standard", "north", "tiltakssonen"] = "standard"  #: Norway's tax regions
    vat_rate: float | None = Field(None, ge=0, le=1)  #: override, e.g. 0.10 for Italian homes
    energy_tax_per_kwh: float | None = Field(None, ge=0)  #: outside Norway: tax per kWh, excl. VAT
    main_fuse_a: float | None = None  #: for fuse-size based capacity tariffs; default: [site].main_fuse_a
    band_preset: Literal["IT_F1F2F3", "IT_F1F23"] | None = None  #: a packaged band set
    band_prices_per_kwh: dict[str, float] = Field(default_factory=dict)  #: price per preset band
    band: list[BandConfig] = Field(default_factory=list)  #: the household's own bands
    base_price_per_kwh: float = 0.0  #: price outside every own band [currency/kWh]
    contracted_power_kw: float | None = Field(None, gt=0)  #: Italy: potenza impegnata
    power_fee_per_kw_month: float = 0.0  #: Italy: quota potenza [currency/kW/month]
    fixed_per_month: float = 0.0  #: any other fixed fee [currency/month] excl. VAT

    @field_validator("grid_company")
    @classmethod
    def _company(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from tariffs.grid import UnknownCompany, find_company

        try:
            find_company(value)
        except UnknownCompany as exc:
            hint = f" (did you mean {exc.suggestion}?)" if exc.suggestion else ""
            raise ValueError(f"a grid company `hems tariff companies` lists, by name or GLN{hint}") from None
        except ValueError as exc:
            raise ValueError(f"one grid company by name or GLN ({exc})") from None
        return value

    @field_validator("grid_area")
    @classmethod
    def _area(cls, value: str | None, info: ValidationInfo) -> str | None:
        company_name = info.data.get("grid_company")
        if value is None or company_name is None:
            return value
        from tariffs.grid import areas, find_company, has_area

        company = find_company(company_name)
        known = areas(company)
        if not has_area(company, value):
            if not known:
                raise ValueError(f"no grid_area: {company.name} has one tariff for its whole network")
            raise ValueError(f"an area of {company.name}: {', '.join(known)}")
        return value

    @field_validator("customer_group")
    @classmethod
    def _group(cls, value: str, info: ValidationInfo) -> str:
        company_name = info.data.get("grid_company")
        if company_name is None:
            return value
        from tariffs.grid import find_company

        company = find_company(company_name)
        groups = sorted({g for t in company.tariffs for g in t.customer_groups})
        if value not in groups:
            raise ValueError(f"a customer group {company.name} has a tariff for ({', '.join(groups)})")
        return value

    @field_validator("bidding_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from tariffs.spot import ZONES

        if value in ZONES or (len(value) == 16 and value[:3] == "10Y"):
            return value
        raise ValueError(f"a bidding zone ({', '.join(ZONES)}) or a 16-character EIC code, got {value!r}")

    @model_validator(mode="after")
    def _bands_priced(self) -> TariffConfig:
        if self.band_preset is not None:
            needed = {"IT_F1F2F3": {"F1", "F2", "F3"}, "IT_F1F23": {"F1", "F23"}}[self.band_preset]
            missing = needed - set(self.band_prices_per_kwh)
            if missing:
                raise ValueError(
                    f"band_prices_per_kwh needs {sorted(needed)} for {self.band_preset}; "
                    f"missing {sorted(missing)}"
                )
        return self
