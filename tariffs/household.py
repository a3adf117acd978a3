"""A household's whole tariff, and the price of every kWh slot by slot.

How a price is built (per slot, all excluding VAT until the last step) [currency/kWh]::

    power   = spot + scheme + supplier markup  (scheme: strømstøtte < 0, or Norgespris − hourly spot)
    grid    = grid company's energy band (Norway) + the household's own/preset bands
    taxes   = elavgift + Enova fee (Norway, by date and region) or energy_tax_per_kwh
    import  = (power + grid + taxes) × (1 + VAT)
    export  = spot + export markup                   (no VAT, no support)

Strømstøtte and Norgespris settle on the hourly spot price (mean of the clock hour's quarter-hours),
as the law says "timespris": within an hour, quarter-hour price differences remain. The
monthly 5000 kWh cap of the support schemes is applied by `tariffs.cost.cost`, not here: these are
marginal prices for the first kWh of a month. Without a spot price (none known, or ``spot =
false``) the spot part is 0; with Norgespris the power part is then still the fixed price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tariffs.bands import Band, BandTable, parse_hours, parse_months, preset_bands
from tariffs.config import TariffConfig
from tariffs.grid import Company, GridTariff, find_company, tariff_on
from tariffs.norway import (
    Stromstotte,
    VatRegion,
    last_known_year,
    norgespris,
    norgespris_starts,
    public_charges,
    stromstotte,
    stromstotte_ends,
)
from tariffs.series import PriceSeries

NO_SUPPORT_FOR_HOLIDAY_HOMES = (
    "holiday home (customer_group fritid): no strømstøtte (Forskrift om strømstønad § 3 a); "
    "the whole spot price is paid"
)
CURRENCIES = {"NO": "NOK", "SE": "SEK", "DK": "DKK", "CH": "CHF", "GB": "GBP", "PL": "PLN"}


@dataclass(frozen=True, slots=True)
class SlotPrices:
    """Price components per slot [currency/kWh]; lists are aligned with ``slots``."""

    slots: list[datetime]  #: UTC slot starts
    slot_minutes: int
    spot_per_kwh: list[float]
    scheme_per_kwh: list[float]  #: strømstøtte (negative) or Norgespris − spot
    markup_per_kwh: list[float]
    grid_per_kwh: list[float]  #: grid energy part + own bands
    taxes_per_kwh: list[float]
    vat_rate: list[float]
    band: list[str]  #: name of the grid/own band in force
    import_per_kwh: list[float]  #: all-in, VAT included
    export_per_kwh: list[float]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HouseholdTariff:
    """Everything that prices a household's energy; build it with `household_tariff`."""

    country: str
    tz: str
    config: TariffConfig
    company: Company | None
    own_bands: BandTable | None
    main_fuse_a: float | None

    def grid_tariff(self, day: date) -> GridTariff | None:
        """The grid company's tariff valid on local ``day`` (None without a company)."""
        if self.company is None:
            return None
        return tariff_on(self.company, day, self.config.customer_group, self.config.grid_area)

    @property
    def currency(self) -> str:
        """The currency prices are in: the country's (NOK, SEK, DKK), EUR elsewhere."""
        return CURRENCIES.get(self.country, "EUR")

    @property
    def holiday_home(self) -> bool:
        return self.config.customer_group == "fritid"

    def scheme_on(self, day: date) -> str:
        """The support scheme in force on ``day``: the configured one, except strømstøtte before
        Norgespris existed (every home had it then); "none" outside Norway."""
        scheme = self.config.support_scheme if self.country == "NO" else "none"
        if scheme == "norgespris" and day < norgespris_starts():
            return "stromstotte"
        return scheme

    def vat_rate(self, day: date) -> float:
        if self.config.vat_rate is not None:
            return self.config.vat_rate
        if self.country == "NO":
            return public_charges(day, self._region).vat_rate
        return 0.0

    @property
    def _region(self) -> VatRegion:
        return self.config.vat_region

    def monthly_fixed(self) -> float:
        """Fixed fees per month excluding the capacity step [currency/month, excl. VAT]."""
        power_fee = self.config.power_fee_per_kw_month * (self.config.contracted_power_kw or 0.0)
        return self.config.supplier_monthly_fee + self.config.fixed_per_month + power_fee

    def power_limit_kw(self) -> float | None:
        """Italy: the power the meter allows without time limit (contracted + 10 %) [kW]."""
        if self.config.contracted_power_kw is None:
            return None
        return round(self.config.contracted_power_kw * 1.1, 6)

    def slot_prices(
        self, slots: Sequence[datetime], slot_minutes: int, spot: PriceSeries | None
    ) -> SlotPrices:
        """All price components for each slot (UTC starts on a ``slot_minutes`` grid)."""
        zone = ZoneInfo(self.tz)
        cfg = self.config
        use_spot = cfg.spot and spot is not None
        out = SlotPrices(list(slots), slot_minutes, [], [], [], [], [], [], [], [], [])
        day_cache: dict[date, _DayParts] = {}
        step = timedelta(minutes=slot_minutes)
        missing: list[datetime] = []
        hourly_spot: dict[datetime, float] = {}  # strømstøtte works on the clock hour's mean
        for t in slots:
            local = t.astimezone(zone)
            day = local.date()
            if day not in day_cache:
                day_cache[day] = self._day_parts(day, out.notes)
            parts = day_cache[day]
            grid, taxes, vat = parts.grid, parts.taxes_per_kwh, parts.vat_rate
            s, s_known = 0.0, False
            if use_spot and spot is not None:
                if spot.covers(t, t + step):
                    s, s_known = spot.on_slots([t], slot_minutes)[0], True
                else:
                    missing.append(t)
            hourly = s  # both schemes settle on the clock hour's spot price (mean of its slots)
            if use_spot and spot is not None and s_known:
                hour = t.replace(minute=0)
                if hour not in hourly_spot:
                    whole = spot.covers(hour, hour + timedelta(hours=1))
                    hourly_spot[hour] = spot.on_slots([hour], 60)[0] if whole else s
                hourly = hourly_spot[hour]
            if parts.norgespris_per_kwh is not None:
                scheme = parts.norgespris_per_kwh - hourly
            elif parts.support is not None and use_spot and s_known:
                scheme = parts.support.support_per_kwh(hourly)
            else:
                scheme = 0.0
            band_name, band_price = "", 0.0
            if grid is not None:
                band_name, band_price = grid.energy.band_at(local, self.country)
            if self.own_bands is not None:
                own_name, own_price = self.own_bands.band_at(local, self.country)
                band_name = f"{band_name}+{own_name}" if band_name else own_name
                band_price += own_price
            out.spot_per_kwh.append(s)
            out.scheme_per_kwh.append(scheme)
            out.markup_per_kwh.append(cfg.supplier_markup_per_kwh)
            out.grid_per_kwh.append(band_price)
            out.taxes_per_kwh.append(taxes)
            out.vat_rate.append(vat)
            out.band.append(band_name)
            power = s + scheme + cfg.supplier_markup_per_kwh
            out.import_per_kwh.append((power + band_price + taxes) * (1.0 + vat))
            out.export_per_kwh.append((s if use_spot else 0.0) + cfg.export_markup_per_kwh)
        if missing:
            last = missing[-1] + step
            out.notes.append(
                f"no spot price for {len(missing)} slot(s) in "
                f"{missing[0]:%Y-%m-%d %H:%M}..{last:%Y-%m-%d %H:%M} UTC: spot part 0 there"
            )
        return out

    def _day_parts(self, day: date, notes: list[str]) -> _DayParts:
        """The parts of a day's price that do not change within the day."""
        grid = self.grid_tariff(day)
        vat = self.vat_rate(day)
        support: Stromstotte | None = None
        fixed_power: float | None = None
        if self.country == "NO":
            charges = public_charges(day, self._region)
            taxes = charges.elavgift_per_kwh + charges.enova_per_kwh
            if charges.carried_forward:
                last = last_known_year("elavgift")
                _note(notes, f"{day.year}: public charges not known; the last known rates ({last}) used")
            if self.config.energy_tax_per_kwh is not None:
                taxes = self.config.energy_tax_per_kwh
            holiday_home = self.holiday_home
            scheme = self.scheme_on(day)
            if scheme != self.config.support_scheme:
                _note(notes, f"Norgespris started {norgespris_starts()}: strømstøtte applies before")
            if scheme == "stromstotte" and holiday_home:
                _note(notes, NO_SUPPORT_FOR_HOLIDAY_HOMES)
            elif scheme == "stromstotte":
                support = stromstotte(day)
                if support is None and day >= stromstotte_ends():
                    ended = stromstotte_ends() - timedelta(days=1)
                    _note(notes, f"strømstøtte ended {ended}: no support from then on")
                elif support is not None and support.carried_forward:
                    _note(
                        notes,
                        f"{day.year}: strømstøtte threshold not known; {last_known_year('stromstotte')}'s "
                        f"{support.threshold_per_kwh:.2f} NOK/kWh used",
                    )
            elif scheme == "norgespris":
                np = norgespris(day, holiday_home=holiday_home)
                if np is not None:
                    fixed_power = np.price_per_kwh
                    if np.carried_forward:
                        _note(
                            notes,
                            f"{day.year}: Norgespris level not known; {last_known_year('norgespris')}'s "
                            f"{np.price_per_kwh:.2f} NOK/kWh used",
                        )
        else:
            taxes = self.config.energy_tax_per_kwh or 0.0
        return _DayParts(grid, taxes, vat, support, fixed_power)


@dataclass(frozen=True, slots=True)
class _DayParts:
    grid: GridTariff | None
    taxes_per_kwh: float
    vat_rate: float
    support: Stromstotte | None
    norgespris_per_kwh: float | None


def _note(notes: list[str], text: str) -> None:
    if text not in notes:
        notes.append(text)


def household_tariff(
    config: TariffConfig,
    *,
    country: str = "NO",
    tz: str = "Europe/Oslo",
    site_main_fuse_a: float | None = None,
) -> HouseholdTariff:
    """Build a `HouseholdTariff` from the [tariff] section and the site's country and zone.

    Raises ValueError (naming the key) for an unknown company or an unusable band set.
    """
    company = find_company(config.grid_company) if config.grid_company else None
    bands: list[Band] = []
    base = ("base", config.base_price_per_kwh)
    if config.band_preset is not None:
        preset = preset_bands(config.band_preset, config.band_prices_per_kwh)
        bands.extend(preset.bands)
        base = (preset.base_name, preset.base_price_per_kwh + config.base_price_per_kwh)
    own = [
        Band(b.name, b.price_per_kwh, tuple(b.days), parse_hours(b.hours), parse_months(b.months))
        for b in config.band
    ]
    own_table = BandTable(base[0], base[1], tuple(own + bands)) if (own or bands or base[1]) else None
    fuse = config.main_fuse_a if config.main_fuse_a is not None else site_main_fuse_a
    return HouseholdTariff(country, tz, config, company, own_table, fuse)
