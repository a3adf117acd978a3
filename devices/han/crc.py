"""CRC checks of the meter protocols (pure, table driven).

- CRC-16/X.25 (HDLC HCS and FCS): poly 0x1021 reflected (0x8408), init 0xFFFF, xorout 0xFFFF,
  sent least significant byte first. Check value of ``b"123456789"`` is 0x906E.
- CRC-16/ARC (P1/DSMR telegrams): poly 0x8005 reflected (0xA001), init 0, no xorout, printed as
  hex MSB first. Check value of ``b"123456789"`` is 0xBB3D.
"""

from __future__ import annotations


def _table(poly: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_X25 = _table(0x8408)
_ARC = _table(0xA001)


def crc16_x25(data: bytes | memoryview) -> int:
    """CRC-16/X.25 of ``data`` (the HDLC HCS/FCS value, before byte swapping)."""
    crc = 0xFFFF
    table = _X25
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFF


def crc16_arc(data: bytes | memoryview) -> int:
    """CRC-16/ARC of ``data`` (the P1 telegram checksum over ``/`` .. ``!``)."""
    crc = 0
    table = _ARC
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc
