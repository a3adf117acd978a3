"""Turn a data-notification body into readings (the keys of meter_frames.json "expected"). Pure.

Three vendor encodings of the same NVE object set:

- self-describing (Aidon, L&G "EMBRIQ", Swedish Aidon, Polish Kaifa): ``{OBIS, value, {scaler, unit}}``;
- OBIS/value pairs without scalers (Kamstrup, Swedish Kaifa): fixed per-vendor scaling;
- positional values without OBIS (Kaifa ``KFM_001``, L&G E450 in Austria): meaning by position.

Flattening the A-XDR tree into tokens lets one scanner read the first two kinds, whatever the
nesting (array of structures, flat structure, or a mix). Values: W, var, A, V, kWh, kvarh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devices.han import axdr
from devices.han.dlms import Notification

_STRING_TAGS = (axdr.OCTETS, axdr.VISIBLE, axdr.UTF8)
_NUMBER_TAGS = (
    axdr.INT8,
    axdr.INT16,
    axdr.INT32,
    axdr.INT64,
    axdr.UINT8,
    axdr.UINT16,
    axdr.UINT32,
    axdr.UINT64,
    axdr.ENUM,
)

#: OBIS (C, D, E) -> reading key. A and B are ignored (Kamstrup uses B=1); F is always 255.
OBIS_KEYS: dict[tuple[int, int, int], str] = {
    (0, 2, 129): "list_id",
    (96, 1, 0): "meter_id",
    (0, 0, 5): "meter_id",  # Kamstrup 1-1:0.0.5
    (96, 1, 7): "meter_type",
    (96, 1, 1): "meter_type",  # Kamstrup 1-1:96.1.1
    (42, 0, 0): "logical_device_name",
    (1, 0, 0): "meter_clock",
    (1, 7, 0): "p_import_w",
    (2, 7, 0): "p_export_w",
    (3, 7, 0): "q_import_var",
    (4, 7, 0): "q_export_var",
    (14, 7, 0): "freq_hz",
    (13, 7, 0): "pf",
    (1, 8, 0): "e_import_kwh",
    (2, 8, 0): "e_export_kwh",
    (3, 8, 0): "e_q_import_kvarh",
    (4, 8, 0): "e_q_export_kvarh",
}
for _line, _base in (("l1", 20), ("l2", 40), ("l3", 60)):
    OBIS_KEYS[(_base + 1, 7, 0)] = f"p_import_{_line}_w"
    OBIS_KEYS[(_base + 2, 7, 0)] = f"p_export_{_line}_w"
    OBIS_KEYS[(_base + 3, 7, 0)] = f"q_import_{_line}_var"
    OBIS_KEYS[(_base + 4, 7, 0)] = f"q_export_{_line}_var"
    OBIS_KEYS[(_base + 11, 7, 0)] = f"i_{_line}_a"
    OBIS_KEYS[(_base + 12, 7, 0)] = f"u_{_line}_v"
    OBIS_KEYS[(_base + 13, 7, 0)] = f"pf_{_line}"

_TEXT_KEYS = ("list_id", "meter_id", "meter_type", "logical_device_name")
_ENERGY = ("e_import_kwh", "e_export_kwh", "e_q_import_kvarh", "e_q_export_kvarh")
_INSTANT = ("p_import_w", "p_export_w", "q_import_var", "q_export_var")

#: Implicit decimal exponents of values sent without a scaler, per vendor: (current, voltage, energy Wh)
_VENDOR_EXP = {"Kaifa": (-3, -1, 0), "Kamstrup": (-2, 0, 1)}

#: Kaifa positional lists by element count (list 1 / 2 / 3 for 1-phase and 3-phase meters).
_KAIFA_HEAD = ["list_id", "meter_id", "meter_type", *_INSTANT]
_KAIFA_LAYOUTS = {
    1: ["p_import_w"],
    9: [*_KAIFA_HEAD, "i_l1_a", "u_l1_v"],
    13: [*_KAIFA_HEAD, "i_l1_a", "i_l2_a", "i_l3_a", "u_l1_v", "u_l2_v", "u_l3_v"],
}
_KAIFA_LAYOUTS[14] = [*_KAIFA_LAYOUTS[9], "meter_clock", *_ENERGY]
_KAIFA_LAYOUTS[18] = [*_KAIFA_LAYOUTS[13], "meter_clock", *_ENERGY]

#: L&G E450 (Austrian push, found inside the decrypted APDU): signature -> (key, exponent)
_LG_E450_SIGNATURE = (axdr.UINT16,) * 6 + (axdr.UINT32,) * 4 + (axdr.UINT16,) * 3 + (axdr.OCTETS,)
_LG_E450_LAYOUT: list[tuple[str | None, int]] = [
    ("u_l1_v", 0),
    ("u_l2_v", 0),
    ("u_l3_v", 0),
    ("i_l1_a", -2),
    ("i_l2_a", -2),
    ("i_l3_a", -2),
    ("p_import_w", 0),
    ("p_export_w", 0),
    ("e_import_kwh", 0),  # Wh
    ("e_export_kwh", 0),
    (None, 0),
    (None, 0),
    (None, 0),
    ("meter_id", 0),
]

#: Meter types whose voltages are line-to-line on a 3-wire IT network (a phase reads 0 or is absent)
_IT_TYPES = ("6525", "MA304H3E")
_1P_TYPES = ("6515", "MA105H2E")


@dataclass(frozen=True, slots=True)
class ScalerUnit:
    scaler: int
    unit: int


@dataclass(frozen=True, slots=True)
class CosemOptions:
    """How to read values the frame does not fully describe."""

    country: str | None = None  #: the meter's country (Kamstrup energy scaling); None: guess from frame
    kamstrup_energy_wh: int | None = None  #: Wh per count of Kamstrup energy registers (1 or 10)
    vendor_hint: str | None = None  #: from the HDLC addresses, for lists that do not name the vendor


def flatten(value: axdr.Value, out: list[Any]) -> None:
    """Leaves of the A-XDR tree in order; ``{int8 scaler, enum unit}`` structures become `ScalerUnit`."""
    tag, data = value
    if tag in (axdr.ARRAY, axdr.STRUCT):
        if tag == axdr.STRUCT and len(data) == 2 and data[0][0] == axdr.INT8 and data[1][0] == axdr.ENUM:
            out.append(ScalerUnit(data[0][1], data[1][1]))
            return
        for item in data:
            flatten(item, out)
    else:
        out.append(value)


def _is_obis(token: Any) -> bool:
    return (
        isinstance(token, tuple)
        and token[0] == axdr.OCTETS
        and len(token[1]) == 6
        and token[1][5] == 0xFF
        and token[1][0] <= 1
    )


def _text(raw: bytes) -> str:
    """A string value: ASCII without NUL padding, or hex when it is not printable text."""
    stripped = raw.rstrip(b"\x00 ").lstrip(b"\x00")
    if stripped and all(0x20 <= b < 0x7F for b in stripped):
        return stripped.decode("ascii")
    return raw.hex()


def _scale(raw: int | float, exp: int) -> int | float:
    """``raw * 10**exp`` rounded like the decimal literal it stands for."""
    if exp >= 0:
        return raw * 10**exp
    return raw / 10**-exp


def _vendor(list_id: str | None, hint: str | None, pairs: list[tuple[bytes, Any, Any]]) -> str | None:
    if list_id:
        for prefix, name in (("Kamstrup", "Kamstrup"), ("KFM", "Kaifa"), ("AIDON", "Aidon")):
            if list_id.startswith(prefix):
                return name
        if list_id.startswith("EMBRIQ"):
            return "Landis+Gyr"
    if any(obis[0] == 1 and obis[1] == 1 and obis[2] != 0 for obis, _v, _s in pairs):
        return "Kamstrup"
    return hint


def _kamstrup_energy_exp(options: CosemOptions, meter_type: str | None) -> int:
    """Kamstrup energy registers count 10 Wh in Norway but 1 Wh in Sweden; the frame does not say."""
    if options.kamstrup_energy_wh is not None:
        return 1 if options.kamstrup_energy_wh == 10 else 0
    if options.country is not None:
        return 0 if options.country == "SE" else 1
    # Type numbers carry a market code after the letters: ...BN245... on every Swedish capture.
    if meter_type and len(meter_type) >= 12 and meter_type[9:12] == "245":
        return 0
    return 1


def _put_value(fields: dict[str, Any], key: str, value: Any, exp: int) -> None:
    tag, data = value
    if key == "meter_clock":
        stamp = axdr.parse_datetime(data) if tag in (axdr.OCTETS, axdr.DATETIME) else None
        if stamp is not None:
            fields["meter_clock"] = stamp.wall.isoformat()
            fields["meter_clock_deviation_min"] = stamp.deviation_min
        return
    if key in _TEXT_KEYS:
        if tag in _STRING_TAGS:
            fields[key] = _text(data)
    elif tag in _NUMBER_TAGS or tag in (axdr.FLOAT32, axdr.FLOAT64):
        fields[key] = _scale(data, exp)


def _default_exp(key: str, vendor_exp: tuple[int, int, int]) -> int:
    if key.startswith("i_"):
        return vendor_exp[0]
    if key.startswith("u_"):
        return vendor_exp[1]
    if key in _ENERGY:
        return vendor_exp[2] - 3
    return 0


def readings(note: Notification, options: CosemOptions) -> dict[str, Any]:
    """The reading keys of one data-notification, in the units of their names."""
    fields: dict[str, Any] = {}
    if note.datetime is not None:
        fields["apdu_datetime"] = note.datetime.wall.isoformat()
        fields["apdu_datetime_deviation_min"] = note.datetime.deviation_min
    tokens: list[Any] = []
    flatten(note.body, tokens)
    pairs: list[tuple[bytes, Any, Any]] = []
    leading: list[str] = []
    i, n = 0, len(tokens)
    while i < n:
        token = tokens[i]
        if _is_obis(token):
            i += 1
            if i < n and isinstance(tokens[i], tuple) and not _is_obis(tokens[i]):
                value, i = tokens[i], i + 1
                su = None
                if i < n and isinstance(tokens[i], ScalerUnit):
                    su, i = tokens[i], i + 1
                pairs.append((token[1], value, su))
        else:
            if not pairs and isinstance(token, tuple) and token[0] in _STRING_TAGS:
                leading.append(_text(token[1]))
            i += 1
    if pairs:
        _read_pairs(fields, pairs, leading, options)
    else:
        _read_positional(fields, note.body)
    return _finish(fields)


def _read_pairs(
    fields: dict[str, Any], pairs: list[tuple[bytes, Any, Any]], leading: list[str], options: CosemOptions
) -> None:
    if leading:
        fields["list_id"] = leading[0]
    keyed = [(OBIS_KEYS.get((obis[2], obis[3], obis[4])), value, su) for obis, value, su in pairs]
    for key, value, _su in keyed:
        if key in ("list_id", "meter_type") and value[0] in _STRING_TAGS:
            fields[key] = _text(value[1])
    vendor = _vendor(fields.get("list_id"), options.vendor_hint, pairs)
    vendor_exp = _VENDOR_EXP.get(vendor or "", (0, 0, 0))
    if vendor == "Kamstrup":
        vendor_exp = (-2, 0, _kamstrup_energy_exp(options, fields.get("meter_type")))
    for key, value, su in keyed:
        if key is None or value[0] == axdr.NULL:
            continue
        if su is not None:
            exp = su.scaler - 3 if key in _ENERGY else su.scaler
        else:
            exp = _default_exp(key, vendor_exp)
        _put_value(fields, key, value, exp)
    if vendor:
        fields["vendor"] = vendor


def _read_positional(fields: dict[str, Any], body: axdr.Value) -> None:
    tag, items = body
    if tag not in (axdr.STRUCT, axdr.ARRAY) or not items:
        return
    signature = tuple(item[0] for item in items)
    if signature == _LG_E450_SIGNATURE:
        for (key, exp), value in zip(_LG_E450_LAYOUT, items, strict=True):
            if key is not None:
                _put_value(fields, key, value, exp - 3 if key in _ENERGY else exp)
        fields["vendor"] = "Landis+Gyr"
        return
    layout = _KAIFA_LAYOUTS.get(len(items))
    if layout is None:
        return
    if len(items) > 1 and items[0][0] not in _STRING_TAGS:
        return
    vendor_exp = _VENDOR_EXP["Kaifa"]
    for key, value in zip(layout, items, strict=True):
        _put_value(fields, key, value, _default_exp(key, vendor_exp))
    fields["vendor"] = "Kaifa"


def _finish(fields: dict[str, Any]) -> dict[str, Any]:
    """Derived keys: the list number and the meter's phase configuration."""
    measured = [k for k in fields if k not in ("apdu_datetime", "apdu_datetime_deviation_min", "vendor")]
    if measured == ["p_import_w"]:
        fields["list"] = 1
    elif measured:
        fields["list"] = 3 if "e_import_kwh" in fields else 2
    meter_type = fields.get("meter_type")
    if isinstance(meter_type, str):
        if meter_type in _IT_TYPES or (meter_type.startswith("684") and meter_type[5:6] == "2"):
            fields["network"] = "IT"
        elif meter_type in _1P_TYPES or meter_type.startswith("686"):
            fields["network"] = "1P"
        elif meter_type.startswith(("6534", "MA304H4", "684")):
            fields["network"] = "TN"
    return fields
