"""A-XDR (DLMS/COSEM data) decoding and encoding, and the COSEM date-time. Pure functions.

A decoded value is a ``(tag, value)`` pair: arrays (0x01) and structures (0x02) carry a list of
such pairs, strings carry ``bytes``, numbers carry ``int``/``float``, null-data carries ``None``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devices.han.errors import FrameError

NULL, ARRAY, STRUCT, BOOL, BITS, INT32, UINT32 = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
OCTETS, VISIBLE, UTF8, BCD, INT8, INT16, UINT8, UINT16 = 0x09, 0x0A, 0x0C, 0x0D, 0x0F, 0x10, 0x11, 0x12
INT64, UINT64, ENUM, FLOAT32, FLOAT64, DATETIME, DATE, TIME = 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B

Value = tuple[int, Any]

_FIXED: dict[int, struct.Struct] = {
    BOOL: struct.Struct(">B"),
    BCD: struct.Struct(">B"),
    INT8: struct.Struct(">b"),
    UINT8: struct.Struct(">B"),
    ENUM: struct.Struct(">B"),
    INT16: struct.Struct(">h"),
    UINT16: struct.Struct(">H"),
    INT32: struct.Struct(">i"),
    UINT32: struct.Struct(">I"),
    INT64: struct.Struct(">q"),
    UINT64: struct.Struct(">Q"),
    FLOAT32: struct.Struct(">f"),
    FLOAT64: struct.Struct(">d"),
}
_RAW_LEN = {DATETIME: 12, DATE: 5, TIME: 4}
MAX_DEPTH = 8


def read_length(buf: bytes, pos: int) -> tuple[int, int]:
    """An A-XDR length at ``pos``: one byte < 0x80, or 0x8N followed by N big-endian bytes."""
    if pos >= len(buf):
        raise FrameError("malformed", "A-XDR length runs past the end of the data")
    first = buf[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 4 or pos + 1 + count > len(buf):
        raise FrameError("malformed", f"bad A-XDR length prefix 0x{first:02x}")
    return int.from_bytes(buf[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def decode(buf: bytes, pos: int = 0, depth: int = 0) -> tuple[Value, int]:
    """Decode one typed value at ``pos``; returns the value and the position after it."""
    if pos >= len(buf):
        raise FrameError("malformed", "A-XDR value runs past the end of the data")
    tag = buf[pos]
    pos += 1
    fixed = _FIXED.get(tag)
    if fixed is not None:
        end = pos + fixed.size
        if end > len(buf):
            raise FrameError("malformed", f"A-XDR value of type 0x{tag:02x} is cut short")
        return (tag, fixed.unpack_from(buf, pos)[0]), end
    if tag in (ARRAY, STRUCT):
        if depth >= MAX_DEPTH:
            raise FrameError("malformed", "A-XDR nesting too deep")
        count, pos = read_length(buf, pos)
        if count > len(buf) - pos:
            raise FrameError("malformed", f"A-XDR {count}-element list is longer than the data")
        items = []
        for _ in range(count):
            item, pos = decode(buf, pos, depth + 1)
            items.append(item)
        return (tag, items), pos
    if tag in (OCTETS, VISIBLE, UTF8):
        size, pos = read_length(buf, pos)
    elif tag == BITS:
        bits, pos = read_length(buf, pos)
        size = (bits + 7) // 8
    elif tag in _RAW_LEN:
        size = _RAW_LEN[tag]
    elif tag == NULL:
        return (NULL, None), pos
    else:
        raise FrameError("malformed", f"unknown A-XDR type tag 0x{tag:02x}")
    end = pos + size
    if end > len(buf):
        raise FrameError("malformed", f"A-XDR string of {size} bytes is cut short")
    return (tag, bytes(buf[pos:end])), end


@dataclass(frozen=True, slots=True)
class CosemDateTime:
    """A COSEM date-time as sent: wall-clock fields, deviation [min] (None = not specified)."""

    wall: datetime  #: naive: the meter's wall clock
    deviation_min: int | None  #: Blue Book: local = UTC - deviation; None when 0x8000
    status: int | None  #: clock status byte (0x80 = DST active); None when 0xFF


def parse_datetime(raw: bytes) -> CosemDateTime | None:
    """The 12-byte COSEM date-time; None when the date or time is not specified or invalid."""
    if len(raw) != 12:
        return None
    year, month, day, _dow, hour, minute, second, hundredths, deviation, status = struct.unpack(
        ">HBBBBBBBhB", raw
    )
    if hundredths == 0xFF:
        hundredths = 0
    try:
        wall = datetime(year, month, day, hour, minute, second, hundredths * 10_000)  # noqa: DTZ001
    except ValueError:
        return None
    return CosemDateTime(
        wall=wall,
        deviation_min=None if deviation == -0x8000 else deviation,
        status=None if status == 0xFF else status,
    )


def encode_datetime(wall: datetime, deviation_min: int | None = None, status: int | None = None) -> bytes:
    """12-byte COSEM date-time of a naive wall-clock time."""
    return struct.pack(
        ">HBBBBBBBhB",
        wall.year,
        wall.month,
        wall.day,
        wall.isoweekday(),
        wall.hour,
        wall.minute,
        wall.second,
        wall.microsecond // 10_000,
        -0x8000 if deviation_min is None else deviation_min,
        0xFF if status is None else status,
    )


def encode_length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def encode(value: Value) -> bytes:
    """Encode a ``(tag, value)`` pair (the inverse of `decode`)."""
    tag, data = value
    fixed = _FIXED.get(tag)
    if fixed is not None:
        return bytes([tag]) + fixed.pack(data)
    if tag in (ARRAY, STRUCT):
        return bytes([tag]) + encode_length(len(data)) + b"".join(encode(item) for item in data)
    if tag in (OCTETS, VISIBLE, UTF8):
        return bytes([tag]) + encode_length(len(data)) + bytes(data)
    if tag in _RAW_LEN:
        return bytes([tag]) + bytes(data)
    if tag == NULL:
        return b"\x00"
    raise ValueError(f"cannot encode A-XDR tag 0x{tag:02x}")
