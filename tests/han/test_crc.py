"""The table-driven CRCs equal the bit-wise definitions, on every length."""

from __future__ import annotations

import random

import pytest

from devices.han.crc import crc16_arc, crc16_x25


def _bitwise(data: bytes, crc: int, poly: int) -> int:
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc


def test_check_values() -> None:
    assert crc16_x25(b"123456789") == 0x906E
    assert crc16_arc(b"123456789") == 0xBB3D


@pytest.mark.parametrize("size", [0, 1, 2, 63, 64, 65, 200, 777, 2047])
def test_equal_to_the_bitwise_definition(size: int) -> None:
    data = random.Random(size).randbytes(size)
    assert crc16_x25(data) == _bitwise(data, 0xFFFF, 0x8408) ^ 0xFFFF
    assert crc16_arc(data) == _bitwise(data, 0, 0xA001)
    assert crc16_arc(memoryview(data)) == crc16_arc(data)
