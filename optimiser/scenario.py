"""The scenario file of `hems plan` (docs/scenario-format.md): schema, loading and validation.

A scenario is one TOML file (or the same structure as a dict, built by the daemon) that fully
describes one planning problem. Unknown keys are errors; every error is one line naming the file,
the key and what was expected (`ScenarioError`, turned into exit status 2 by the CLI).

Project-added optional keys (the contract allows adding keys, never renaming):

- ``[[appliance]] started`` (shiftable): the program started at this instant and is running; it is
  fixed there and never interrupted.
- ``[[appliance]] published_start`` (shiftable): the start published by the previous plan; moving it
  costs ``[replan] move_penalty``.
- ``[replan] move_penalty``: cost of moving an already published start [currency], default 0.
- ``[[appliance]] extra_windows`` (shiftable): more windows ``[[earliest_start, latest_end], ...]``;
  the program runs inside one of them or the main one.
"""

from __future__ import annotations

import itertools
import tomllib
import zoneinfo
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

_TN_LINES = {"L1", "L2", "L3", "3P"}
_IT_LINES = {"L1L2", "L2L3", "L1L3", "3P"}


#: a price [currency/kWh] and a power [kW] a household can face: finite and far from 1e300
Price = Annotated[float, Field(ge=-1e4, le=1e4)]
Power = Annotated[float, Field(ge=-1e4, le=1e4)]


class ScenarioError(ValueError):
    """A malformed scenario: the message is one line (file: key: what was expected)."""


class _Table(BaseModel):
    # NaN and infinities are refused everywhere: they are no price, load or forecast
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("an ISO-8601 time with a UTC offset, e.g. 2026-01-15T00:00:00+01:00")
    return value


class HorizonSpec(_Table):
    start: datetime  #: start of slot 0, with offset
    slots: int = Field(gt=0, le=3000)  #: number of slots (a month of quarter-hours fits)
    slot_minutes: int = Field(gt=0, le=60)  #: slot length [min]; must divide 60

    _start_aware = field_validator("start")(_aware)

    @field_validator("slot_minutes")
    @classmethod
    def _divides_hour(cls, value: int) -> int:
        if 60 % value:
            raise ValueError("a divisor of 60 minutes (15 or 60)")
        return value


class SiteSpec(_Table):
    timezone: str
    network: Literal["TN", "IT", "1P"]
    voltage_v: float = Field(gt=0)  #: phase-neutral (TN), line-line (IT), single phase (1P) [V]
    main_fuse_a: float | None = Field(None, gt=0)  #: per line [A]; None = no limit

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"an IANA time zone such as Europe/Oslo, got {value!r}") from None
        return value


class SeriesSpec(_Table):
    import_price_per_kwh: list[Price]  #: [currency/kWh]
    export_price_per_kwh: list[Price] | None = None  #: [currency/kWh]
    base_load_kw: list[Power]  #: non-controllable consumption [kW]
    pv_kw: list[Power] | None = None  #: PV forecast [kW]


class CapacityTariffSpec(_Table):
    step_upper_kw: list[float]  #: upper bounds of the steps [kW]
    step_price: list[float]  #: price per month of each step [currency/month]
    month_peaks_kw: list[Annotated[float, Field(ge=0)]]  #: recorded daily peaks, other days [kW]
    today_peak_kw: float = Field(0.0, ge=0)  #: [kW]
    #: each planned day's peak counts this many times among the month's peaks (the days to come,
    #: beyond the horizon, taken to reach it too); 1: the horizon's days alone
    peak_repeats: int = Field(1, ge=1, le=3)


class ShiftableSpec(_Table):
    id: str = Field(min_length=1)
    kind: Literal["shiftable"]
    profile_kw: list[Annotated[float, Field(ge=0)]] = Field(min_length=1)  #: [kW] per slot
    earliest_start: datetime
    latest_end: datetime
    line: str = "3P"
    started: datetime | None = None  #: project key: running since this instant
    published_start: datetime | None = None  #: project key: start of the previous plan
    #: project key: more allowed windows [[earliest_start, latest_end], ...] besides the main one
    extra_windows: list[tuple[datetime, datetime]] = Field(default_factory=list)

    _aware_times = field_validator("earliest_start", "latest_end", "started", "published_start")(
        lambda v: v if v is None else _aware(v)
    )

    @field_validator("extra_windows")
    @classmethod
    def _ordered_windows(cls, value: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
        for begin, end in value:
            _aware(begin)
            _aware(end)
            if end < begin:
                raise ValueError(
                    f"windows [earliest_start, latest_end] with the end at or after the start: {end}"
                )
        return value


class EnergySpec(_Table):
    id: str = Field(min_length=1)
    kind: Literal["energy"]
    energy_kwh: float = Field(ge=0)  #: [kWh]
    min_kw: float = Field(0.0, ge=0)  #: [kW]
    max_kw: float = Field(gt=0)  #: [kW]
    earliest_start: datetime
    latest_end: datetime
    line: str = "3P"

    _aware_times = field_validator("earliest_start", "latest_end")(_aware)


class ThermalSpec(_Table):
    id: str = Field(min_length=1)
    kind: Literal["thermal"]
    power_kw: float = Field(gt=0)  #: [kW]
    capacity_kwh: float = Field(gt=0)  #: [kWh]
    initial_kwh: float = Field(ge=0)  #: [kWh]
    min_kwh: float = Field(0.0, ge=0)  #: [kWh]
    loss_kw: float = Field(0.0, ge=0)  #: [kW]
    draw_kwh: list[Annotated[float, Field(ge=0)]]  #: [kWh] per slot
    line: str = "3P"


class BatterySpec(_Table):
    capacity_kwh: float = Field(gt=0)  #: [kWh]
    max_charge_kw: float = Field(ge=0)  #: [kW]
    max_discharge_kw: float = Field(ge=0)  #: [kW]
    efficiency: float = Field(gt=0, le=1)  #: one-way [-]
    initial_kwh: float = Field(ge=0)  #: [kWh]
    final_min_kwh: float = Field(0.0, ge=0)  #: [kWh]
    line: str = "3P"


class ReplanSpec(_Table):
    move_penalty: float = Field(0.0, ge=0)  #: cost of moving a published start [currency]


ApplianceSpec = Annotated[ShiftableSpec | EnergySpec | ThermalSpec, Field(discriminator="kind")]


class ScenarioSpec(_Table):
    horizon: HorizonSpec
    site: SiteSpec
    series: SeriesSpec
    capacity_tariff: CapacityTariffSpec | None = None
    appliance: list[ApplianceSpec] = Field(default_factory=list)
    battery: BatterySpec | None = None
    replan: ReplanSpec = Field(default_factory=lambda: ReplanSpec(move_penalty=0.0))


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("shiftable", "energy", "thermal"):
            continue  # the discriminator's branch name is noise for the user
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _expected(err: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key (check its spelling; see docs/scenario-format.md)"
    if kind == "missing":
        return "required key is missing"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"expected {msg[0].lower()}{msg[1:]}, got {err.get('input')!r}"


def _fail(source: str, key: str, expected: str) -> ScenarioError:
    return ScenarioError(f"{source}: {key}: {expected}")


def _check_lengths(spec: ScenarioSpec, source: str) -> None:
    n = spec.horizon.slots
    for name in ("import_price_per_kwh", "export_price_per_kwh", "base_load_kw", "pv_kw"):
        values = getattr(spec.series, name)
        if values is not None and len(values) != n:
            raise _fail(source, f"series.{name}", f"expected {n} values (horizon.slots), got {len(values)}")
    if spec.series.pv_kw is not None and min(spec.series.pv_kw, default=0) < 0:
        raise _fail(source, "series.pv_kw", "expected values >= 0 [kW]")
    for i, app in enumerate(spec.appliance):
        if isinstance(app, ThermalSpec) and len(app.draw_kwh) != n:
            raise _fail(
                source,
                f"appliance[{i}].draw_kwh",
                f"expected {n} values (horizon.slots), got {len(app.draw_kwh)}",
            )


def _check_lines(spec: ScenarioSpec, source: str) -> None:
    network = spec.site.network
    allowed = _IT_LINES if network == "IT" else _TN_LINES | (_IT_LINES if network == "1P" else set())
    items: list[tuple[str, str]] = [(f"appliance[{i}].line", a.line) for i, a in enumerate(spec.appliance)]
    if spec.battery is not None:
        items.append(("battery.line", spec.battery.line))
    for key, line in items:
        if normalise_line(line) not in allowed:
            raise _fail(source, key, f"expected one of {sorted(allowed)} on a {network} site, got {line!r}")


def normalise_line(line: str) -> str:
    """Canonical line name: IT pairs in ascending order ("L2L1" → "L1L2", "L3L1" → "L1L3")."""
    text = line.strip().upper()
    if len(text) == 4 and text.startswith("L") and text[2] == "L":
        a, b = sorted((text[:2], text[2:]))
        return a + b
    return text


def _check_semantics(spec: ScenarioSpec, source: str) -> None:
    seen: set[str] = set()
    for i, app in enumerate(spec.appliance):
        if app.id in seen or app.id == "battery":
            raise _fail(source, f"appliance[{i}].id", f"expected a unique id, got {app.id!r} twice")
        seen.add(app.id)
        if isinstance(app, ShiftableSpec | EnergySpec) and app.latest_end < app.earliest_start:
            raise _fail(
                source,
                f"appliance[{i}].latest_end",
                f"expected a time at or after earliest_start {app.earliest_start.isoformat()}, "
                f"got {app.latest_end.isoformat()}",
            )
        if isinstance(app, EnergySpec) and app.min_kw > app.max_kw:
            raise _fail(
                source, f"appliance[{i}].min_kw", f"expected <= max_kw ({app.max_kw}), got {app.min_kw}"
            )
        if isinstance(app, ThermalSpec):
            if app.initial_kwh > app.capacity_kwh:
                raise _fail(
                    source,
                    f"appliance[{i}].initial_kwh",
                    f"expected <= capacity_kwh ({app.capacity_kwh}), got {app.initial_kwh}",
                )
            if app.min_kwh > app.capacity_kwh:
                raise _fail(
                    source,
                    f"appliance[{i}].min_kwh",
                    f"expected <= capacity_kwh ({app.capacity_kwh}), got {app.min_kwh}",
                )
    bat = spec.battery
    if bat is not None and bat.initial_kwh > bat.capacity_kwh:
        raise _fail(
            source,
            "battery.initial_kwh",
            f"expected <= capacity_kwh ({bat.capacity_kwh}), got {bat.initial_kwh}",
        )
    cap = spec.capacity_tariff
    if cap is not None:
        if len(cap.step_price) != len(cap.step_upper_kw) + 1:
            raise _fail(
                source,
                "capacity_tariff.step_price",
                f"expected {len(cap.step_upper_kw) + 1} prices (one per step), got {len(cap.step_price)}",
            )
        uppers = cap.step_upper_kw
        if any(b <= a for a, b in itertools.pairwise(uppers)) or (uppers and uppers[0] <= 0):
            raise _fail(
                source, "capacity_tariff.step_upper_kw", f"expected increasing values > 0, got {uppers}"
            )
        prices = cap.step_price
        if any(b < a for a, b in itertools.pairwise(prices)):
            raise _fail(source, "capacity_tariff.step_price", f"expected non-decreasing prices, got {prices}")


def parse_scenario(data: dict[str, Any], source: str = "<scenario>") -> ScenarioSpec:
    """Validate a scenario given as a dict (TOML structure); raises `ScenarioError` (one line)."""
    try:
        spec = ScenarioSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise _fail(source, _location(err["loc"]), _expected(err)) from None
    _check_lengths(spec, source)
    _check_lines(spec, source)
    _check_semantics(spec, source)
    return spec


def load_scenario(path: str | Path) -> ScenarioSpec:
    """Read and validate a scenario TOML file; raises `ScenarioError` naming file, key, expectation."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{p}: (file): expected an existing scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{p}: (file): expected a readable UTF-8 TOML file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{p}: (syntax): expected valid TOML ({exc})") from None
    return parse_scenario(data, str(p))
