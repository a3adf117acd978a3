"""Packing of one row of many channels into a compact BLOB.

A cycle's samples (and a rollup slot's statistics) are stored as one row holding every channel, not
one row per channel: appending one small row per cycle touches one or two database pages, which is
what keeps the bytes written to an SD card low. The set of channels of a row is its *layout* (a list
of channel names, stored once in the ``layout`` table). Missing values are NaN.

Each channel's number format follows its unit: cumulative energy registers (``*_kwh``) are float64,
so a meter's counter keeps every watt-hour; everything else (W, A, V, var, Hz, power factor) is
float32, whose 7 significant digits are far finer than any meter's resolution.

- samples: one value per channel
- stats:   mean, min, max (in the channel's format) + uint32 sample count
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence

NAN = math.nan


def value_format(channel: str) -> str:
    return "d" if channel.endswith("_kwh") else "f"


class RowCodec:
    """Packs and unpacks rows of one layout."""

    def __init__(self, channels: Sequence[str]) -> None:
        self.channels = tuple(channels)
        self._index = {c: i for i, c in enumerate(self.channels)}
        formats = [value_format(c) for c in self.channels]
        self._values = struct.Struct("<" + "".join(formats))
        self._value_at: list[tuple[struct.Struct, int]] = []
        self._stat_at: list[tuple[struct.Struct, int]] = []
        offset = stat_offset = 0
        for f in formats:
            one, stat = struct.Struct("<" + f), struct.Struct(f"<{f}{f}{f}I")
            self._value_at.append((one, offset))
            self._stat_at.append((stat, stat_offset))
            offset += one.size
            stat_offset += stat.size
        self._stats = struct.Struct("<" + "".join(f"{f}{f}{f}I" for f in formats))

    @property
    def size(self) -> int:
        """Bytes of one packed row [B]."""
        return self._values.size

    def index(self, channel: str) -> int | None:
        return self._index.get(channel)

    def pack_values(self, values: Sequence[float]) -> bytes:
        return self._values.pack(*values)

    def unpack_values(self, blob: bytes) -> tuple[float, ...]:
        return self._values.unpack(blob)

    def value(self, blob: bytes, index: int) -> float:
        one, offset = self._value_at[index]
        return one.unpack_from(blob, offset)[0] if offset + one.size <= len(blob) else NAN

    def pack_stats(self, stats: Sequence[tuple[float, float, float, int]]) -> bytes:
        padded = list(stats) + [(NAN, NAN, NAN, 0)] * (len(self.channels) - len(stats))
        return self._stats.pack(*(x for s in padded for x in s))

    def stat(self, blob: bytes, index: int) -> tuple[float, float, float, int] | None:
        one, offset = self._stat_at[index]
        if offset + one.size > len(blob):
            return None
        return one.unpack_from(blob, offset)


# ----- batches: all cycles of one write transaction in one compressed row ----------------------------
# Consecutive cycles are alike (voltages, counters, idle circuits), so a batch compresses to about a
# fifth; with one row per batch, each transaction appends a few hundred bytes instead of kilobytes.

_COUNT = struct.Struct("<I")


def pack_batch(t0: int, rows: Sequence[tuple[int, bytes]]) -> bytes:
    """Rows ``(t [unix s], payload)`` → one compressed BLOB (times stored as offsets from ``t0``)."""
    header = struct.pack(f"<I{len(rows)}I", len(rows), *(t - t0 for t, _ in rows))
    sizes = struct.pack(f"<{len(rows)}I", *(len(p) for _, p in rows))
    return zlib.compress(header + sizes + b"".join(p for _, p in rows), 6)


def unpack_batch(t0: int, blob: bytes) -> list[tuple[int, bytes]]:
    data = zlib.decompress(blob)
    (n,) = _COUNT.unpack_from(data, 0)
    offsets = struct.unpack_from(f"<{n}I", data, 4)
    sizes = struct.unpack_from(f"<{n}I", data, 4 + 4 * n)
    pos = 4 + 8 * n
    out = []
    for dt, size in zip(offsets, sizes, strict=True):
        out.append((t0 + dt, data[pos : pos + size]))
        pos += size
    return out


def compress(blob: bytes) -> bytes:
    return zlib.compress(blob, 6)


def decompress(blob: bytes) -> bytes:
    return zlib.decompress(blob)
