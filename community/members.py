"""The members file (TOML): the community, its participants, their roles, tariffs, keys and data.

See docs/community.md for every key. Validation is strict (unknown keys are errors) and every
problem is one line: ``FILE: KEY: what was expected`` (`MembersError.lines`). Paths inside the
file are relative to the file. Access keys are never stored: only their scrypt hashes
(`community.access`), which `hems community key` prints.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from community.access import check_hash_format
from tariffs.config import TariffConfig

Scheme = Literal["fr", "it", "no"]
KeyName = Literal["prorata", "static", "equal", "cascade"]
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"
COUNTRY = {"fr": "FR", "it": "IT", "no": "NO"}
TIMEZONE = {"fr": "Europe/Paris", "it": "Europe/Rome", "no": "Europe/Oslo"}
DEFAULT_KEY: dict[str, KeyName] = {"fr": "prorata", "it": "prorata", "no": "equal"}
DEFAULT_SETTLEMENT = {"fr": 15, "it": 60, "no": 60}
#: Italian regions by the DM 414/2023 PV correction: +10 EUR/MWh north, +4 centre, 0 elsewhere
IT_NORTH = (
    "emilia-romagna",
    "friuli-venezia giulia",
    "liguria",
    "lombardia",
    "piemonte",
    "trentino-alto adige",
    "valle d'aosta",
    "veneto",
)
IT_CENTRE = ("lazio", "marche", "toscana", "umbria", "abruzzo")
IT_SOUTH = ("molise", "campania", "puglia", "basilicata", "calabria", "sicilia", "sardegna")


def _key_hash(value: str) -> str:
    check_hash_format(value)
    return value


KeyHash = Annotated[str, AfterValidator(_key_hash)]  #: a key's scrypt hash, never the key


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(_Strict):
    """Where a quarter-hour series comes from (a bare string is shorthand for ``{path = ...}``)."""

    path: str
    format: Literal["csv", "espi", "hems-db"] | None = None  #: default: by the file's suffix
    channel: str | None = None  #: hems-db: default grid.p_import_w / grid.p_export_w
    flow: Literal["forward", "reverse"] | None = None  #: espi: default by direction
    reading: str | None = None  #: espi: the MeterReading's title, when flow is ambiguous
    column: str | None = None  #: csv: the value column
    unit: Literal["wh", "kwh", "w"] | None = None  #: csv: unit of ``column``
    stamp: Literal["start", "end"] = "start"  #: csv: a time marks the start or end of its slot


def _source(value: Any) -> Any:
    return {"path": value} if isinstance(value, str) else value


class Participant(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str | None = None
    role: Literal["consumer", "producer", "prosumer"]
    key_hash: KeyHash | None = None  #: scrypt hash of the participant's access key
    share: Decimal | None = Field(None, ge=0, le=1)  #: static key: share of production
    priority: int = Field(1, ge=1)  #: cascade key: 1 is served first
    max_power_kw: float | None = Field(None, gt=0)  #: consumption above it is impossible
    peak_kw: float | None = Field(None, gt=0)  #: installed production power (injection limit)
    plant_kw: float | None = Field(None, gt=0)  #: Italy: the plant's power (picks the TIP band)
    pv: bool = True  #: Italy: a PV plant (regional correction applies)
    behind_main_meter: bool = True  #: counted in the building's main-meter check
    consumption: Source | None = None  #: the local (box) series of withdrawals
    consumption_grid_operator: Source | None = None  #: the grid operator's series (it bills)
    injection: Source | None = None
    injection_grid_operator: Source | None = None
    tariff: TariffConfig | None = None  #: the participant's own supply contract

    _sources = field_validator(
        "consumption", "consumption_grid_operator", "injection", "injection_grid_operator", mode="before"
    )(_source)

    @model_validator(mode="after")
    def _role(self) -> Participant:
        consumes = self.role in ("consumer", "prosumer")
        injects = self.role in ("producer", "prosumer")
        if consumes and not (self.consumption or self.consumption_grid_operator):
            raise ValueError(f"a {self.role} needs consumption = (a file) or consumption_grid_operator =")
        if injects and not (self.injection or self.injection_grid_operator):
            raise ValueError(f"a {self.role} needs injection = (a file) or injection_grid_operator =")
        if consumes and self.tariff is None:
            raise ValueError(f"a {self.role} needs [participant.tariff] (its own supply contract)")
        if not consumes and (self.consumption or self.consumption_grid_operator):
            raise ValueError("a producer has no consumption series; make it a prosumer")
        if not injects and (self.injection or self.injection_grid_operator):
            raise ValueError("a consumer has no injection series; make it a prosumer")
        return self

    @property
    def consumes(self) -> bool:
        return self.role in ("consumer", "prosumer")

    @property
    def injects(self) -> bool:
        return self.role in ("producer", "prosumer")


class Community(_Strict):
    name: str
    scheme: Scheme
    key: KeyName | None = None  #: default: prorata (fr, it), equal (no)
    redistribute: bool = False  #: static key: what a participant cannot absorb goes to the others
    timezone: str | None = None  #: default by scheme
    price_per_kwh: Decimal = Field(Decimal(0), ge=0)  #: community price of shared energy
    surplus_price_per_kwh: Decimal | None = Field(None, ge=0)  #: producers' price for grid injection
    settlement_minutes: Literal[15, 60] | None = None  #: default 15 (fr), 60 (it, no)
    prices: str | None = None  #: spot/zonal price file (ENTSO-E XML or price CSV)
    organiser_key_hash: KeyHash | None = None
    main_meter: Source | None = None  #: the building's main meter, import
    main_meter_export: Source | None = None  #: ... and export

    _sources = field_validator("main_meter", "main_meter_export", mode="before")(_source)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"an IANA time zone like Europe/Paris, got {value!r}") from None
        return value

    @property
    def country(self) -> str:
        return COUNTRY[self.scheme]

    @property
    def tz(self) -> str:
        return self.timezone or TIMEZONE[self.scheme]

    @property
    def allocation_key(self) -> KeyName:
        return self.key or DEFAULT_KEY[self.scheme]

    @property
    def slot_minutes(self) -> int:
        return self.settlement_minutes or DEFAULT_SETTLEMENT[self.scheme]


class GridOperator(_Strict):
    name: str = "grid operator"
    key_hash: KeyHash | None = None


class Conformity(_Strict):
    tolerance_wh: int = Field(10, ge=0)  #: a difference this small is never reported [Wh]
    tolerance_pct: Decimal = Field(Decimal(1), ge=0, le=100)  #: ... nor one this small [% of the larger]
    max_power_kw: float = Field(100.0, gt=0)  #: default limit of a participant's mean power [kW]
    main_meter: Literal["refuse", "warn"] = "refuse"  #: a main-meter mismatch refuses the bill
    fill_gaps_from_local: bool = False  #: grid operator gap: bill the local box's figure (stated)


class Italy(_Strict):
    region: str  #: the plants' region (picks the PV correction)
    valorisation_per_kwh: Decimal | None = Field(None, ge=0)  #: ARERA's unit value for the year
    valorisation_source: str | None = None  #: where that value comes from (shown on the bill)
    tip_reduction: Decimal = Field(Decimal(0), ge=0, le=1)  #: GSE reduction (capital grants)
    producers_share: Decimal = Field(Decimal(0), ge=0, le=1)  #: the incentive kept by producers
    capital_grant: bool = False  #: the 55 % threshold becomes 45 %

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value.strip().lower() not in IT_NORTH + IT_CENTRE + IT_SOUTH:
            raise ValueError(f"an Italian region (e.g. Lombardia, Lazio, Sicilia), got {value!r}")
        return value.strip().lower()

    @property
    def pv_correction_eur_per_mwh(self) -> Decimal:
        return (
            Decimal(10) if self.region in IT_NORTH else Decimal(4) if self.region in IT_CENTRE else Decimal(0)
        )


class Members(_Strict):
    community: Community
    participant: list[Participant] = Field(min_length=1)
    grid_operator: GridOperator = GridOperator()
    conformity: Conformity = Conformity()
    italy: Italy | None = None

    @model_validator(mode="after")
    def _rules(self) -> Members:
        ids = [p.id for p in self.participant]
        for i, pid in enumerate(ids):
            if pid in ids[:i] or pid in ("producer", "grid-operator", "organiser"):
                raise ValueError(f"participant ids must be unique and not a role name: {pid!r}")
        consumers = [p for p in self.participant if p.consumes]
        if not consumers or not any(p.injects for p in self.participant):
            raise ValueError("a community needs at least one consumer (or prosumer) and one producer")
        c = self.community
        key = c.allocation_key
        if key == "static":
            missing = [p.id for p in consumers if p.share is None]
            if missing:
                raise ValueError(
                    f"key = static needs share = for every consumer; missing: {', '.join(missing)}"
                )
            total = sum((p.share or Decimal(0)) for p in consumers)
            if total != 1:
                raise ValueError(
                    f"key = static: the consumers' shares must add up to 1, they add up to {total}"
                )
        elif any(p.share is not None for p in self.participant):
            raise ValueError(f"share = is used only with key = static (this community uses key = {key})")
        if c.redistribute and key not in ("static", "equal"):
            raise ValueError("redistribute = true applies to key = static or equal only")
        if c.scheme == "no":
            if key == "cascade":
                raise ValueError("scheme no (deling): the keys are equal, static or prorata (volumvektet)")
            if any(p.role == "prosumer" for p in self.participant):
                raise ValueError(
                    "scheme no (deling): participants receiving production have no own production"
                )
        if c.scheme == "it":
            if self.italy is None:
                raise ValueError("scheme it (CER) needs an [italy] table (region, ...)")
            if c.settlement_minutes not in (None, 60):
                raise ValueError("scheme it (CER): shared energy is hourly; settlement_minutes must be 60")
            missing = [p.id for p in self.participant if p.injects and p.plant_kw is None]
            if missing:
                raise ValueError(f"scheme it (CER): plant_kw = is needed for {', '.join(missing)}")
        elif self.italy is not None:
            raise ValueError("[italy] is used only with scheme = it")
        return self

    def get(self, pid: str) -> Participant | None:
        return next((p for p in self.participant if p.id == pid), None)


class MembersError(ValueError):
    """A members file that cannot be used: one line per problem (file, key, what was expected)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _location(data: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    """``participant[2] (apt-3).tariff.vat_rate``: the key path, with the participant's id."""
    out, node = "", cast(Any, data)
    for part in loc:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            pid = node.get("id") if isinstance(node, dict) else None
            out += f"[{part}]" + (f" ({pid})" if pid else "")
        elif not part.startswith(("function-", "literal[")):  # pydantic's union/validator tags
            node = node.get(part) if isinstance(node, dict) else None
            out += ("." if out else "") + part
    return out or "(top level)"


def _expected(err: Any) -> str:
    kind, given = err["type"], err.get("input")
    if kind == "extra_forbidden":
        return "unknown key (see docs/community.md)"
    if kind == "missing":
        return "missing required key"
    msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Input should be ")
    if kind in ("value_error", "assertion_error"):
        return msg
    return f"expected {msg}, got {given!r}"


def parse_members(data: dict[str, Any], source: str) -> Members:
    try:
        return Members.model_validate(data)
    except ValidationError as exc:
        raise MembersError(
            [f"{source}: {_location(data, e['loc'])}: {_expected(e)}" for e in exc.errors()]
        ) from None


def load_members(path: str | Path) -> tuple[Members, Path]:
    """The validated members file and the directory its relative paths start from."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MembersError([f"{p}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MembersError([f"{p}: cannot read: {exc}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MembersError([f"{p}: not valid TOML: {exc}"]) from None
    return parse_members(data, str(p)), p.resolve().parent
