"""Build real meter frames from readings (for the simulator and tests). Pure.

The simulated smart meter emits these bytes, and they travel the same path as a real meter's:
stream finder -> HCS/FCS -> DLMS -> vendor list -> readings. Values are rounded to the resolution
each vendor sends (Aidon: 0.1 A, 0.1 V, 10 Wh; Kamstrup: 0.01 A, 1 V, 10 Wh in Norway).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from devices.han import axdr, framing, p1
from devices.han.dlms import LLC
from devices.natures import GridReading

_W, _VAR, _WH, _VARH, _A, _V = 27, 29, 30, 32, 33, 35
_PHASES = ("l1", "l2", "l3")


def _obis(text: str) -> axdr.Value:
    """``"1-0:31.7.0.255"`` -> octet-string value."""
    a, rest = text.split("-")
    b, rest = rest.split(":")
    return (axdr.OCTETS, bytes([int(a), int(b), *(int(x) for x in rest.split("."))]))


def _uint(value: float, scale: float, tag: int = axdr.UINT32) -> axdr.Value:
    bits = {axdr.UINT32: 32, axdr.UINT16: 16}[tag]
    return (tag, max(0, round(value * scale)) % (1 << bits))


def _int16(value: float, scale: float) -> axdr.Value:
    return (axdr.INT16, max(-0x8000, min(0x7FFF, round(value * scale))))


def _wall(clock: datetime, tz: str) -> datetime:
    """The meter's wall clock: aware times are shown in ``tz``, naive ones are taken as wall time."""
    return clock.astimezone(ZoneInfo(tz)).replace(tzinfo=None) if clock.tzinfo else clock


def encode_aidon_list(
    list_no: int,
    *,
    p_import_w: float,
    p_export_w: float = 0.0,
    q_import_var: float = 0.0,
    q_export_var: float = 0.0,
    i_a: Sequence[float | None] = (0.0, 0.0, 0.0),
    u_v: Sequence[float | None] = (230.0, 230.0, 230.0),
    e_import_kwh: float = 0.0,
    e_export_kwh: float = 0.0,
    e_q_import_kvarh: float = 0.0,
    e_q_export_kvarh: float = 0.0,
    meter_id: str = "7359992890000000",
    meter_type: str | None = None,
    meter_clock: datetime | None = None,
    tz: str = "Europe/Oslo",
) -> bytes:
    """One HDLC frame of an Aidon list 1 (power), 2 (10-s list) or 3 (hourly, with clock and energy).

    ``i_a``/``u_v`` give L1..L3 [A]/[V]; None omits a phase, as a 1-phase (6515) or IT (6525) meter
    does. ``meter_type`` defaults to 6534 / 6525 / 6515 from the phases given. ``meter_clock`` is
    written as the Norwegian wall clock with deviation 0 (Aidon's own quirk).
    """
    if list_no not in (1, 2, 3):
        raise ValueError(f"Aidon lists are 1, 2 or 3, got {list_no}")

    def register(obis: str, value: axdr.Value, scaler: int, unit: int) -> axdr.Value:
        su = (axdr.STRUCT, [(axdr.INT8, scaler), (axdr.ENUM, unit)])
        return (axdr.STRUCT, [_obis(obis), value, su])

    def text(obis: str, value: str) -> axdr.Value:
        return (axdr.STRUCT, [_obis(obis), (axdr.VISIBLE, value.encode("ascii"))])

    items = [register("1-0:1.7.0.255", _uint(p_import_w, 1), 0, _W)]
    if list_no >= 2:
        present = [n for n, i in enumerate(i_a) if i is not None]
        if meter_type is None:
            meter_type = {3: "6534", 2: "6525"}.get(len(present), "6515")
        items = [
            text("1-1:0.2.129.255", "AIDON_V0001"),
            text("0-0:96.1.0.255", meter_id),
            text("0-0:96.1.7.255", meter_type),
            *items,
            register("1-0:2.7.0.255", _uint(p_export_w, 1), 0, _W),
            register("1-0:3.7.0.255", _uint(q_import_var, 1), 0, _VAR),
            register("1-0:4.7.0.255", _uint(q_export_var, 1), 0, _VAR),
        ]
        for n, current in enumerate(i_a):
            if current is not None:
                items.append(register(f"1-0:{31 + 20 * n}.7.0.255", _int16(current, 10), -1, _A))
        for n, voltage in enumerate(u_v):
            if voltage is not None:
                items.append(register(f"1-0:{32 + 20 * n}.7.0.255", _uint(voltage, 10, axdr.UINT16), -1, _V))
    if list_no == 3:
        wall = _wall(meter_clock, tz) if meter_clock else datetime(2000, 1, 1)  # noqa: DTZ001
        stamp = axdr.encode_datetime(wall.replace(microsecond=0), deviation_min=0, status=0)
        items.append((axdr.STRUCT, [_obis("0-0:1.0.0.255"), (axdr.OCTETS, stamp)]))
        for code, kwh, unit in (
            ("1.8.0", e_import_kwh, _WH),
            ("2.8.0", e_export_kwh, _WH),
            ("3.8.0", e_q_import_kvarh, _VARH),
            ("4.8.0", e_q_export_kvarh, _VARH),
        ):
            items.append(register(f"1-0:{code}.255", _uint(kwh, 100), 1, unit))
    apdu = b"\x0f\x40\x00\x00\x00\x00" + axdr.encode((axdr.ARRAY, items))
    return framing.encode_hdlc(LLC + apdu, dest=b"\x41", src=b"\x08\x83", control=0x13)


def encode_kamstrup_list(
    list_no: int,
    *,
    p_import_w: float,
    p_export_w: float = 0.0,
    q_import_var: float = 0.0,
    q_export_var: float = 0.0,
    i_a: Sequence[float] = (0.0, 0.0, 0.0),
    u_v: Sequence[float] = (230.0, 230.0, 230.0),
    e_import_kwh: float = 0.0,
    e_export_kwh: float = 0.0,
    e_q_import_kvarh: float = 0.0,
    e_q_export_kvarh: float = 0.0,
    meter_id: str = "5706567270000000",
    meter_type: str = "6841131BN243101040",
    meter_clock: datetime | None = None,
    energy_wh_per_count: int = 10,
    tz: str = "Europe/Oslo",
) -> bytes:
    """One HDLC frame of a Kamstrup 10-s list (``list_no`` 2) or hourly list (3), 3-phase."""
    if list_no not in (2, 3):
        raise ValueError(f"Kamstrup sends lists 2 (10 s) and 3 (hourly), got {list_no}")
    wall = _wall(meter_clock, tz) if meter_clock else datetime(2000, 1, 1)  # noqa: DTZ001
    stamp = axdr.encode_datetime(wall.replace(microsecond=0), deviation_min=None, status=0)
    items: list[axdr.Value] = [
        (axdr.VISIBLE, b"Kamstrup_V0001"),
        _obis("1-1:0.0.5.255"),
        (axdr.VISIBLE, meter_id.encode("ascii")),
        _obis("1-1:96.1.1.255"),
        (axdr.VISIBLE, meter_type.encode("ascii")),
    ]
    for code, value in (("1.7.0", p_import_w), ("2.7.0", p_export_w), ("3.7.0", q_import_var),
                        ("4.7.0", q_export_var)):  # fmt: skip
        items += [_obis(f"1-1:{code}.255"), _uint(value, 1)]
    for n, current in enumerate(i_a):
        items += [_obis(f"1-1:{31 + 20 * n}.7.0.255"), _uint(current, 100)]
    for n, voltage in enumerate(u_v):
        items += [_obis(f"1-1:{32 + 20 * n}.7.0.255"), _uint(voltage, 1, axdr.UINT16)]
    if list_no == 3:
        items += [_obis("0-1:1.0.0.255"), (axdr.OCTETS, stamp)]
        for code, kwh in (("1.8.0", e_import_kwh), ("2.8.0", e_export_kwh), ("3.8.0", e_q_import_kvarh),
                          ("4.8.0", e_q_export_kvarh)):  # fmt: skip
            items += [_obis(f"1-1:{code}.255"), _uint(kwh, 1000 / energy_wh_per_count)]
    apdu = b"\x0f\x00\x00\x00\x00\x0c" + stamp + axdr.encode((axdr.STRUCT, items))
    return framing.encode_hdlc(LLC + apdu, dest=b"\x2b", src=b"\x21", control=0x13)


def encode_p1_telegram(
    reading: GridReading, ident: str = "ISK5\\2M550T-1012", tz: str = "Europe/Amsterdam"
) -> bytes:
    """A DSMR 5.0 telegram (with CRC) of a reading; fields that are None are left out."""
    local = (reading.meter_clock or reading.time).astimezone(ZoneInfo(tz))
    season = "S" if local.dst() else "W"
    lines = ["1-3:0.2.8(50)", f"0-0:1.0.0({local:%y%m%d%H%M%S}{season})"]
    if reading.meter_id:
        lines.append(f"0-0:96.1.1({reading.meter_id.encode('ascii').hex().upper()})")
    for code, value in (("1.8.0", reading.e_import_kwh), ("2.8.0", reading.e_export_kwh)):
        if value is not None:
            lines.append(f"1-0:{code}({value:010.3f}*kWh)")
    for code, value in (("1.7.0", reading.p_import_w), ("2.7.0", reading.p_export_w)):
        if value is not None:
            lines.append(f"1-0:{code}({value / 1000:06.3f}*kW)")
    for n, line in enumerate(_PHASES):
        voltage, current = getattr(reading, f"u_{line}_v"), getattr(reading, f"i_{line}_a")
        if voltage is not None:
            lines.append(f"1-0:{32 + 20 * n}.7.0({voltage:05.1f}*V)")
        if current is not None:
            lines.append(f"1-0:{31 + 20 * n}.7.0({current:06.2f}*A)")
    return p1.encode_p1(lines, ident=ident)


def encode_grid_reading(
    reading: GridReading, list_no: int = 2, vendor: str = "aidon", tz: str = "Europe/Oslo"
) -> bytes:
    """The frame a meter of ``vendor`` ("aidon" | "kamstrup" | "p1") would send for ``reading``.

    Missing values are sent as 0 by the HAN encoders (meters always fill their lists), except
    Aidon's currents and voltages, where None omits the phase.
    """
    if vendor == "p1":
        return encode_p1_telegram(reading)
    r = reading
    p_import, p_export = r.p_import_w or 0.0, r.p_export_w or 0.0
    q_import, q_export = r.q_import_var or 0.0, r.q_export_var or 0.0
    e_import, e_export = r.e_import_kwh or 0.0, r.e_export_kwh or 0.0
    currents = [getattr(reading, f"i_{line}_a") for line in _PHASES]
    voltages = [getattr(reading, f"u_{line}_v") for line in _PHASES]
    clock = reading.meter_clock or reading.time
    if vendor == "aidon":
        return encode_aidon_list(
            list_no, p_import_w=p_import, p_export_w=p_export, q_import_var=q_import,
            q_export_var=q_export, e_import_kwh=e_import, e_export_kwh=e_export,
            i_a=currents, u_v=voltages, meter_clock=clock, tz=tz,
            meter_id=reading.meter_id or "7359992890000000", meter_type=reading.meter_type,
        )  # fmt: skip
    if vendor == "kamstrup":
        return encode_kamstrup_list(
            max(list_no, 2), p_import_w=p_import, p_export_w=p_export, q_import_var=q_import,
            q_export_var=q_export, e_import_kwh=e_import, e_export_kwh=e_export,
            i_a=[c or 0.0 for c in currents], u_v=[v or 0.0 for v in voltages],
            meter_clock=clock, tz=tz, meter_id=reading.meter_id or "5706567270000000",
        )  # fmt: skip
    raise ValueError(f"vendor must be 'aidon', 'kamstrup' or 'p1', got {vendor!r}")
