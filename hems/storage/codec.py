"""Packing of one row of many channels into a compact BLOB.

A cycle's samples (and a rollup slot's statistics) are stored as one row holding every channel, not
one row per channel: appending one small row per cycle touches one or two database pages, which is
what keeps the bytes written to an SD card low. The set of channels of a row is its *layout*
(a list of channel names, stored once in the ``layout`` table). Missing values are NaN.

- samples: float64 per channel                     (8 bytes each)
- stats:   float64 mean, min, max + uint32 n       (28 bytes each)
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

NAN = math.nan


def pack_values(values: Sequence[float]) -> bytes:
    return struct.pack(f"<{len(values)}d", *values)


def unpack_values(blob: bytes) -> tuple[float, ...]:
    return struct.unpack(f"<{len(blob) // 8}d", blob)


_STAT = struct.Struct("<dddI")


def pack_stats(stats: Sequence[tuple[float, float, float, int]]) -> bytes:
    return b"".join(_STAT.pack(*s) for s in stats)


def unpack_stat(blob: bytes, index: int) -> tuple[float, float, float, int] | None:
    """The statistics of channel ``index`` of a stats BLOB, or None when out of range."""
    offset = index * _STAT.size
    if offset + _STAT.size > len(blob):
        return None
    return _STAT.unpack_from(blob, offset)


def unpack_value(blob: bytes, index: int) -> float:
    offset = index * 8
    if offset + 8 > len(blob):
        return NAN
    return struct.unpack_from("<d", blob, offset)[0]
