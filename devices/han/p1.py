"""P1 / DSMR telegrams (IEC 62056-21 mode D ASCII), with the CRC-16/ARC check. Pure.

::

    /ISK5\\2M550T-1012            identification ("/" + 3-letter maker + baud char + ident)
                                  (blank line)
    1-0:1.8.1(003432.829*kWh)     OBIS(value*unit)(...)
    !9DF0                         "!" + CRC-16/ARC of "/".."!" (absent in DSMR 2.2/3.0)

Covers DSMR 2.2/3.0 (no CRC, gas value on the next line), 4.x, 5.0, Belgian e-MUCS (15-min demand
and monthly peak), Luxembourg Smarty (after decryption), the Swedish/Danish HAN P1 profile and
W/Wh-unit variants. Values are converted to the units in the key names.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from devices.han.cosem import OBIS_KEYS
from devices.han.crc import crc16_arc
from devices.han.errors import FrameError

_LINE = re.compile(r"^(\d{1,3})-(\d{1,3}):(\d{1,3}\.\d{1,3}\.\d{1,3})(?:\*\d{1,3})?((?:\([^()]*\))+)\s*$")
_VALUES = re.compile(r"\(([^()]*)\)")
_CRC_TAIL = re.compile(rb"[0-9A-Fa-f]{0,4}")

#: unit (lower case) -> (dimension, decimal exponent to W / var / Wh / varh / V / A / Hz)
_UNITS = {
    "w": ("p", 0),
    "kw": ("p", 3),
    "var": ("q", 0),
    "kvar": ("q", 3),
    "wh": ("e", 0),
    "kwh": ("e", 3),
    "varh": ("eq", 0),
    "kvarh": ("eq", 3),
    "v": ("u", 0),
    "a": ("i", 0),
    "hz": ("f", 0),
}

#: electricity lines (``1-0:C.D.E``) -> reading key
_ELECTRICITY = {
    f"{c}.{d}.{e}": key
    for (c, d, e), key in OBIS_KEYS.items()
    if key.endswith(("_w", "_var", "_kwh", "_kvarh", "_v", "_a", "_hz")) or key.startswith("pf")
} | {
    "1.8.1": "e_import_t1_kwh",
    "1.8.2": "e_import_t2_kwh",
    "2.8.1": "e_export_t1_kwh",
    "2.8.2": "e_export_t2_kwh",
    "1.4.0": "p_import_avg_15min_w",
    "1.6.0": "max_demand_month",
}
_TEXT_KEYS = {
    "1-3:0.2.8": "p1_version",
    "0-0:96.1.4": "p1_version_be",
    "0-0:1.0.0": "timestamp_raw",
    "0-0:96.1.1": "equipment_id_raw",
    "0-0:96.14.0": "tariff_indicator",
}


def _target(key: str) -> tuple[str, int] | None:
    """Dimension and exponent of a reading key's unit (``p_import_w`` -> ("p", 0))."""
    if key.endswith("_kvarh"):
        return "eq", 3
    if key.endswith("_kwh"):
        return "e", 3
    if key.endswith("_var"):
        return "q", 0
    if key.endswith("_w"):
        return "p", 0
    if key.startswith("u_"):
        return "u", 0
    if key.startswith("i_"):
        return "i", 0
    if key == "freq_hz":
        return "f", 0
    return None


#: a P1 number: digits with an optional point and sign
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _number(text: str, key: str) -> float | None:
    """``"02.027*kW"`` for ``p_import_w`` -> 2027.0; None when the unit does not fit the key."""
    number, _, unit = text.partition("*")
    if not _DECIMAL.fullmatch(number):  # P1 writes digits and a point: never nan, inf, 1e999, 1_000
        return None
    try:
        value = Decimal(number)
    except InvalidOperation:
        return None
    target = _target(key)
    if not unit or target is None:
        return float(value) if target is None or key.startswith(("u_", "i_", "freq")) else None
    found = _UNITS.get(unit.lower())
    if found is None or found[0] != target[0]:
        return None
    return float(value.scaleb(found[1] - target[1]))


def _ascii_id(raw: str) -> str:
    """Equipment ids are hex-encoded ASCII: ``4530...`` -> ``E0...``; raw text otherwise."""
    try:
        decoded = bytes.fromhex(raw)
    except ValueError:
        return raw
    if decoded and all(0x20 <= b < 0x7F for b in decoded):
        return decoded.decode("ascii").strip()
    return raw


def find_telegram(data: bytes) -> tuple[int, int, bytes]:
    """Start (``/``), position of ``!`` and the CRC digits of the telegram in ``data``.

    The end marker opens a line and is followed by at most 4 hex digits and the line end, so a
    damaged byte that happens to read ``!`` inside a line is not taken for the end.
    """
    start = data.find(b"/")
    if start < 0:
        raise FrameError("malformed", "no P1 telegram start '/'")
    bang = data.find(b"\n!", start) + 1
    if bang <= 0:
        raise FrameError("truncated", "P1 telegram has no end marker '!'")
    digits = _CRC_TAIL.match(data, bang + 1)
    assert digits is not None
    if data[digits.end() :].strip(b"\r\n"):
        raise FrameError("malformed", "P1 telegram goes on after its end marker '!'")
    return start, bang, digits.group(0)


def parse_p1(data: bytes) -> dict[str, Any]:
    """Readings of one telegram; raises FrameError on a CRC mismatch or a malformed telegram."""
    start, bang, crc_text = find_telegram(data)
    fields: dict[str, Any] = {}
    if crc_text:
        want = crc16_arc(data[start : bang + 1])
        got = int(crc_text, 16)
        if got != want:
            raise FrameError("crc", f"P1 CRC mismatch: telegram {crc_text.decode()}, computed {want:04X}")
        fields["crc_ok"] = True
    elif re.search(rb"\n1-3:0\.2\.8\([4-9]", data[start:bang]):
        raise FrameError("malformed", "DSMR 4/5 telegram without its CRC")
    try:
        text = data[start + 1 : bang].decode("ascii")
    except UnicodeDecodeError:
        raise FrameError("malformed", "P1 telegram holds non-ASCII bytes") from None
    lines = text.replace("\r", "").split("\n")
    ident = lines[0]
    if len(ident) < 4:
        raise FrameError("malformed", f"P1 identification line too short: {ident!r}")
    fields["meter_type"] = ident
    fields["vendor"] = ident[:3]
    mbus: dict[int, dict[str, Any]] = {}
    merged: list[str] = []
    for line in lines[1:]:
        if line.startswith("(") and merged:  # DSMR 2.2/3.0: gas value on its own line
            merged[-1] += line
        elif line:
            merged.append(line)
    for line in merged:
        _read_line(line, fields, mbus)
    for total, parts in (
        ("e_import_kwh", ("e_import_t1_kwh", "e_import_t2_kwh")),
        ("e_export_kwh", ("e_export_t1_kwh", "e_export_t2_kwh")),
    ):
        if total not in fields and all(p in fields for p in parts):
            fields[total] = float(sum(Decimal(repr(fields[p])) for p in parts))
    equipment = fields.get("equipment_id_raw")
    if equipment:
        fields["meter_id"] = _ascii_id(equipment)
    if mbus:
        fields["mbus"] = [mbus[ch] for ch in sorted(mbus) if "value" in mbus[ch]]
    return fields


def _read_line(line: str, fields: dict[str, Any], mbus: dict[int, dict[str, Any]]) -> None:
    match = _LINE.match(line)
    if not match:
        return  # unknown or vendor-specific line: ignored, never fatal
    a, b, cde, rest = match.groups()
    values = _VALUES.findall(rest)
    if a == "1" and b == "0":
        key = _ELECTRICITY.get(cde)
        if key == "max_demand_month" and len(values) >= 2:
            kw = _number(values[1], "p_import_w")
            fields[key] = {"timestamp_raw": values[0], "kw": None if kw is None else kw / 1000}
        elif key is not None:
            number = _number(values[-1], key)
            if number is not None:
                fields[key] = number
    elif a == "0" and b != "0" and cde.startswith("24."):
        _read_mbus(int(b), f"0-{b}:{cde}", cde.split(".")[1], values, mbus)
    else:
        text_key = _TEXT_KEYS.get(f"{a}-{b}:{cde}")
        if text_key is not None:
            fields[text_key] = values[0]


def _read_mbus(channel: int, obis: str, d: str, values: list[str], mbus: dict[int, dict[str, Any]]) -> None:
    entry = mbus.setdefault(channel, {"channel": channel})
    if d == "1" and values:
        entry["device_type"] = values[0]
    elif d == "2" and len(values) >= 2:
        entry.update(obis=obis, timestamp_raw=values[0], value=values[1])
    elif d == "3" and len(values) >= 7:  # DSMR 2.2/3.0: (ts)(00)(60)(1)(obis)(unit)(value)
        entry.update(obis=obis, timestamp_raw=values[0], value=values[6], unit=values[5])


def encode_p1(lines: list[str], ident: str = "ISK5\\2M550T-1012", crc: bool = True) -> bytes:
    """A telegram from data lines, with its CRC (for tests and simulators)."""
    body = f"/{ident}\r\n\r\n" + "".join(f"{line}\r\n" for line in lines) + "!"
    raw = body.encode("ascii")
    return raw + (f"{crc16_arc(raw):04X}".encode() if crc else b"") + b"\r\n"
