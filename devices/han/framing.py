"""Transport frames around the DLMS APDU: HDLC frame format type 3 and wired M-Bus long frames. Pure.

HDLC (IEC 62056-46)::

    7E | A0 LL | DA.. | SA.. | CTRL | HCS(2) | E6 E7 00 | APDU .. | FCS(2) | 7E

The 11-bit length counts the bytes between the flags. HAN meters do not byte-stuff, so the payload
may hold raw 0x7E/0x7D: frames are found by their length field and checked by HCS and FCS
(CRC-16/X.25, least significant byte first), never split on flags.

M-Bus long frame (EN 13757-2)::

    68 L L 68 | C A CI | [STSAP DTSAP] data | CS 16

CS is the byte sum of C..data. A DLMS APDU longer than one frame is split into segments: bit 0x10
of CI marks the last segment.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.han.crc import crc16_x25
from devices.han.errors import FrameError

FLAG = 0x7E
MAX_ADDRESS = 4


@dataclass(frozen=True, slots=True)
class HdlcFrame:
    dest: bytes
    src: bytes
    control: int
    segmented: bool  #: more segments of the same APDU follow
    info: bytes  #: information field (LLC + APDU), empty for frames without one
    length: int  #: the format field's length [bytes between the flags]


def hdlc_length(buf: bytes | bytearray, pos: int = 0) -> int | None:
    """Total frame size including both flags of the frame starting at ``pos``, or None if not type 3."""
    if len(buf) < pos + 3 or buf[pos] != FLAG or buf[pos + 1] & 0xF0 != 0xA0:
        return None
    return (((buf[pos + 1] & 0x07) << 8) | buf[pos + 2]) + 2


def hdlc_header_end(buf: bytes | bytearray, pos: int = 0) -> int | None:
    """Position just after the HCS of the frame at ``pos``; None if more bytes are needed.

    Raises FrameError("malformed") when the address fields are not terminated.
    """
    i = pos + 3
    for _field in range(2):
        for n in range(MAX_ADDRESS + 1):
            if i >= len(buf):
                return None
            if n == MAX_ADDRESS:
                raise FrameError("malformed", "HDLC address longer than 4 bytes")
            i += 1
            if buf[i - 1] & 1:
                break
    return i + 3  # control + HCS


def parse_hdlc(data: bytes) -> HdlcFrame:
    """Check and split one HDLC frame that starts with its opening flag at ``data[0]``."""
    total = hdlc_length(data)
    if total is None:
        raise FrameError("malformed", "not an HDLC frame format type 3 (expected 7E Ax)")
    if len(data) < total - 1:
        raise FrameError("truncated", f"HDLC frame declares {total} bytes, {len(data)} present")
    header_end = hdlc_header_end(data)
    if header_end is None or header_end > total - 1:
        raise FrameError("malformed", "HDLC frame too short for its header")
    fcs_at = total - 3
    got_fcs = data[fcs_at] | data[fcs_at + 1] << 8
    want_fcs = crc16_x25(memoryview(data)[1:fcs_at])
    has_info = header_end + 2 <= fcs_at
    if has_info:
        got_hcs = data[header_end - 2] | data[header_end - 1] << 8
        want_hcs = crc16_x25(memoryview(data)[1 : header_end - 2])
        if got_hcs != want_hcs:
            raise FrameError("crc", f"HCS mismatch: frame 0x{got_hcs:04x}, computed 0x{want_hcs:04x}")
    if got_fcs != want_fcs:
        raise FrameError("crc", f"FCS mismatch: frame 0x{got_fcs:04x}, computed 0x{want_fcs:04x}")
    if len(data) >= total and data[total - 1] != FLAG:
        raise FrameError("malformed", f"HDLC frame of {total} bytes does not end with the 7E flag")
    dest_end = 3
    while not data[dest_end] & 1:
        dest_end += 1
    src_end = dest_end + 1
    while not data[src_end] & 1:
        src_end += 1
    return HdlcFrame(
        dest=bytes(data[3 : dest_end + 1]),
        src=bytes(data[dest_end + 1 : src_end + 1]),
        control=data[src_end + 1],
        segmented=bool(data[1] & 0x08),
        info=bytes(data[header_end:fcs_at]) if has_info else b"",
        length=total - 2,
    )


def encode_hdlc(
    info: bytes, dest: bytes = b"\x41", src: bytes = b"\x08\x83", control: int = 0x13, segmented: bool = False
) -> bytes:
    """One HDLC type-3 frame with correct HCS and FCS around ``info`` (LLC + APDU)."""
    length = 2 + len(dest) + len(src) + 1 + 2 + len(info) + 2
    if length > 0x7FF:
        raise ValueError(f"information field too long for one HDLC frame ({len(info)} bytes)")
    header = bytes([0xA0 | (0x08 if segmented else 0) | length >> 8, length & 0xFF]) + dest + src
    header += bytes([control])
    hcs = crc16_x25(header)
    body = header + hcs.to_bytes(2, "little") + info
    fcs = crc16_x25(body)
    return bytes([FLAG]) + body + fcs.to_bytes(2, "little") + bytes([FLAG])


@dataclass(frozen=True, slots=True)
class MbusSegment:
    control: int
    address: int
    ci: int
    payload: bytes  #: the data after CI, STSAP and DTSAP

    @property
    def last(self) -> bool:
        return bool(self.ci & 0x10)


def mbus_length(buf: bytes | bytearray, pos: int = 0) -> int | None:
    """Total size of the M-Bus long frame at ``pos``, or None if there is no long-frame header."""
    if len(buf) < pos + 4 or buf[pos] != 0x68 or buf[pos + 3] != 0x68 or buf[pos + 1] != buf[pos + 2]:
        return None
    return buf[pos + 1] + 6


def parse_mbus(data: bytes) -> MbusSegment:
    """Check one M-Bus long frame starting at ``data[0]``."""
    total = mbus_length(data)
    if total is None:
        raise FrameError("malformed", "not an M-Bus long frame (expected 68 L L 68)")
    if len(data) < total:
        raise FrameError("truncated", f"M-Bus frame declares {total} bytes, {len(data)} present")
    if data[total - 1] != 0x16:
        raise FrameError("malformed", "M-Bus frame does not end with 0x16")
    if total < 11:
        raise FrameError("malformed", "M-Bus frame too short for a DLMS segment")
    want = sum(data[4 : total - 2]) & 0xFF
    if data[total - 2] != want:
        raise FrameError(
            "crc", f"M-Bus checksum mismatch: frame 0x{data[total - 2]:02x}, computed 0x{want:02x}"
        )
    return MbusSegment(control=data[4], address=data[5], ci=data[6], payload=bytes(data[9 : total - 2]))


def encode_mbus(payload: bytes, ci: int = 0x10, control: int = 0x53, address: int = 0xFF) -> bytes:
    """One M-Bus long frame (STSAP 0x01, DTSAP 0x67) around ``payload``."""
    body = bytes([control, address, ci, 0x01, 0x67]) + payload
    if len(body) > 0xFF:
        raise ValueError("M-Bus segment payload too long")
    return bytes([0x68, len(body), len(body), 0x68]) + body + bytes([sum(body) & 0xFF, 0x16])
