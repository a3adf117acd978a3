"""Device "natures": one Protocol per kind of device, with units and the sign convention written once.

Units live in the field names (``p_import_w`` is watts, ``e_import_kwh`` kilowatt-hours, ``i_l1_a``
amperes on line L1, ``u_l1_v`` volts). Times are timezone-aware UTC.

Sign convention (everywhere in hems): grid power is positive when importing from the grid and
negative when exporting. Meters report import and export as separate non-negative quantities
(``p_import_w``, ``p_export_w``); ``GridReading.p_net_w`` = import - export follows the convention.
A circuit's ``p_w`` is its consumption (>= 0 for a load). PV production ``p_w`` is >= 0.

A reading field that the device did not report is ``None`` (not 0): "unknown" and "zero" differ.
Drivers and simulators implement these Protocols; the daemon only sees the Protocols.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

LINES = ("L1", "L2", "L3")


@dataclass(frozen=True, slots=True)
class GridReading:
    """One reading of the household's smart meter (HAN/P1). Import positive."""

    time: datetime  #: when the meter produced it (UTC); the meter's own clock is ``meter_clock``
    p_import_w: float | None = None
    p_export_w: float | None = None
    q_import_var: float | None = None
    q_export_var: float | None = None
    i_l1_a: float | None = None
    i_l2_a: float | None = None
    i_l3_a: float | None = None
    u_l1_v: float | None = None
    u_l2_v: float | None = None
    u_l3_v: float | None = None
    e_import_kwh: float | None = None  #: cumulative register (list 3 / hourly on HAN)
    e_export_kwh: float | None = None
    meter_id: str | None = None
    meter_type: str | None = None
    meter_clock: datetime | None = None
    list_id: str | None = None
    raw: bytes | None = field(default=None, repr=False, compare=False)  #: the frame it came from

    @property
    def p_net_w(self) -> float | None:
        """Net grid power: import positive, export negative [W]."""
        if self.p_import_w is None and self.p_export_w is None:
            return None
        return (self.p_import_w or 0.0) - (self.p_export_w or 0.0)

    def current(self, line: str) -> float | None:
        return {"L1": self.i_l1_a, "L2": self.i_l2_a, "L3": self.i_l3_a}[line]


@dataclass(frozen=True, slots=True)
class CircuitReading:
    """One reading of a fuse circuit's energy meter. Consumption positive.

    Single-phase meters fill ``u_v``, ``i_a``, ``p_w``; three-phase meters also fill the per-line
    fields (``i_l1_a`` ...) and put the totals (sum of powers, max of currents) in ``p_w``/``i_a``.
    """

    time: datetime
    u_v: float | None = None
    i_a: float | None = None
    p_w: float | None = None
    e_import_kwh: float | None = None
    e_export_kwh: float | None = None
    pf: float | None = None
    f_hz: float | None = None
    i_l1_a: float | None = None
    i_l2_a: float | None = None
    i_l3_a: float | None = None
    u_l1_v: float | None = None
    u_l2_v: float | None = None
    u_l3_v: float | None = None
    p_l1_w: float | None = None
    p_l2_w: float | None = None
    p_l3_w: float | None = None


@dataclass(frozen=True, slots=True)
class PvReading:
    """One reading of a PV inverter. Production positive."""

    time: datetime
    p_w: float | None = None
    e_total_kwh: float | None = None


@dataclass(frozen=True, slots=True)
class ApplianceState:
    """What an appliance reports about itself."""

    time: datetime
    online: bool
    running: bool = False
    p_w: float | None = None  #: [W]; negative when it feeds power (a battery discharging)
    program: str | None = None
    remaining_kwh: float | None = None  #: energy still needed of its current request [kWh]
    soc_kwh: float | None = None  #: a battery's stored energy [kWh]


class Clock(Protocol):
    """What a driver needs of the daemon's injected clock (hems.clock has the full ones)."""

    def now(self) -> datetime:
        """Current instant, timezone-aware UTC."""
        ...


class UtcClock:
    """Wall time, for a driver used outside the daemon (``hems read``, ``hems decode``)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class DeviceError(Exception):
    """A device could not be read this time (timeout, bad frame, disconnected). Specific message."""


@runtime_checkable
class GridMeter(Protocol):
    """The household's smart meter (HAN or P1 port)."""

    id: str

    async def read(self) -> GridReading:
        """The newest reading; raises DeviceError when none is available."""
        ...


@runtime_checkable
class CircuitMeter(Protocol):
    """An energy meter on one fuse circuit (Modbus)."""

    id: str

    async def read(self) -> CircuitReading: ...


@runtime_checkable
class PvInverter(Protocol):
    """Optional: a PV inverter that reports its production."""

    id: str

    async def read(self) -> PvReading: ...


@runtime_checkable
class Appliance(Protocol):
    """A controllable appliance (smart, or a relay in front of a dumb one)."""

    id: str

    async def read(self) -> ApplianceState: ...

    async def command(self, action: str, limit_kw: float | None = None) -> None:
        """``action``: "start" | "stop" | "limit" (with ``limit_kw``)."""
        ...
