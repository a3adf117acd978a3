"""Find frames in a serial byte stream, and decode them in order. Pure (no I/O), incremental.

`FrameSplitter` takes bytes as they arrive (any chunking, possibly starting mid-frame, with junk,
repeated flags or a text-mode bridge's damage) and returns the complete frames it finds:

- HDLC type 3: sync on ``7E Ax``, check the HCS as soon as the header is in (a false sync inside a
  payload is dropped after ~10 bytes), take the length from the format field, check the FCS. A frame
  that fails its FCS is reported and scanning resumes one byte later, so a frame hidden behind a
  damaged one is still found.
- wired M-Bus long frames (``68 L L 68``), checksum checked.
- P1 telegrams: ``/`` + identification line + blank line ... ``!`` + CRC line, ASCII only.
- raw general-glo-ciphered APDUs (``DB 08``: Luxembourg's encrypted P1), when enabled.

`StreamDecoder` adds what needs state: HDLC and M-Bus segment reassembly, counters, and flagging a
repeated hourly list (Aidon sends the 17:00 list again at 18:00: ``"stale_hourly": true``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from devices.han import axdr, dlms, framing
from devices.han.decode import (
    _HDLC_VENDORS,
    DecodeOptions,
    MeterReading,
    parse_apdu,
    parse_frame,
    parse_telegram,
)
from devices.han.errors import FrameError
from devices.han.p1 import _CRC_TAIL

_CANDIDATE = re.compile(rb"\x7e[\xa0-\xaf]|\x68(.)\1\x68|/|\xdb\x08", re.DOTALL)
_NOT_TEXT = re.compile(rb"[^\x01-\x7e]")
_NEED_MORE = object()
MAX_TELEGRAM = 16_384  #: [bytes] longest P1 telegram accepted
MAX_APDU = 4_096  #: [bytes] longest raw ciphered APDU accepted


@dataclass(frozen=True, slots=True)
class Chunk:
    """A frame found in the stream (or a frame-shaped piece that failed its check)."""

    kind: str  #: "hdlc" | "mbus" | "p1" | "apdu"
    offset: int  #: position of its first byte in the stream [bytes]
    data: bytes
    error: FrameError | None = None
    frame: Any = None  #: the checked `HdlcFrame` / `MbusSegment`


class FrameSplitter:
    """Incremental frame finder; see the module docstring."""

    def __init__(self, han: bool = True, p1: bool = True, raw_apdu: bool = False) -> None:
        self.han, self.p1, self.raw_apdu = han, p1, raw_apdu
        self._buf = bytearray()
        self._base = 0  #: stream offset of _buf[0]
        self.skipped_bytes = 0  #: bytes that were not part of any valid frame
        self._flag_at = -1  #: stream offset of the last frame's closing flag
        self._p1_seen = (-1, -1)  #: (start, scanned up to) of a telegram still arriving

    def feed(self, data: bytes) -> list[Chunk]:
        self._buf += data
        return self._scan(final=False)

    def flush(self) -> list[Chunk]:
        """End of input: report what is left (a cut frame becomes a "truncated" error)."""
        return self._scan(final=True)

    def _scan(self, final: bool) -> list[Chunk]:
        out: list[Chunk] = []
        buf, pos = self._buf, 0
        while True:
            match = _CANDIDATE.search(buf, pos)
            if match is None:
                keep = len(buf) if final else max(pos, len(buf) - 3)
                self.skipped_bytes += keep - pos
                pos = keep
                break
            start = match.start()
            self.skipped_bytes += start - pos - (self._base + pos == self._flag_at and start > pos)
            result = self._try(buf, start, final)
            if result is _NEED_MORE:
                pos = start
                break
            if result is None:
                self.skipped_bytes += 1
                pos = start + 1
                continue
            chunk, pos = result
            if chunk.error is not None:
                self.skipped_bytes += 1
            out.append(chunk)
        del buf[:pos]
        self._base += pos
        return out

    def _chunk(self, kind: str, buf: bytearray, start: int, end: int, **kw: Any) -> Chunk:
        return Chunk(kind, self._base + start, bytes(buf[start:end]), **kw)

    def _try(self, buf: bytearray, start: int, final: bool) -> Any:
        first = buf[start]
        if first == framing.FLAG:
            return self._try_hdlc(buf, start, final) if self.han else None
        if first == 0x68:
            return self._try_mbus(buf, start, final) if self.han else None
        if first == 0x2F:
            return self._try_p1(buf, start, final) if self.p1 else None
        return self._try_apdu(buf, start, final) if self.raw_apdu else None

    def _try_hdlc(self, buf: bytearray, start: int, final: bool) -> Any:
        total = framing.hdlc_length(buf, start)
        try:
            header_end = framing.hdlc_header_end(buf, start)
        except FrameError:
            return None
        if total is None or header_end is None:
            return None if final else _NEED_MORE
        end = start + total - 1  # the closing flag may open the next frame: leave it
        if header_end + 2 > end:
            return None  # shorter than its own header and FCS: not a frame
        if header_end > len(buf):
            return None if final else _NEED_MORE
        hcs = buf[header_end - 2] | buf[header_end - 1] << 8
        if hcs != framing.crc16_x25(memoryview(buf)[start + 1 : header_end - 2]):
            return None
        if len(buf) < end + 1 and not final:
            return _NEED_MORE  # wait for the closing flag too
        if len(buf) < end:
            err = FrameError(
                "truncated", f"HDLC frame declares {total} bytes, stream ends after {len(buf) - start}"
            )
            return self._chunk("hdlc", buf, start, len(buf), error=err), len(buf)
        try:
            frame = framing.parse_hdlc(bytes(buf[start : end + 1]))
        except FrameError as exc:
            return self._chunk("hdlc", buf, start, end + 1, error=exc), start + 1
        self._flag_at = self._base + end  # the closing flag may open the next frame: not junk
        return self._chunk("hdlc", buf, start, end + 1, frame=frame), end

    def _try_mbus(self, buf: bytearray, start: int, final: bool) -> Any:
        total = framing.mbus_length(buf, start)
        if total is None:
            return None
        if len(buf) < start + total:
            if not final:
                return _NEED_MORE
            err = FrameError("truncated", "M-Bus frame cut short by the end of the stream")
            return self._chunk("mbus", buf, start, len(buf), error=err), len(buf)
        end = start + total
        try:
            segment = framing.parse_mbus(bytes(buf[start:end]))
        except FrameError as exc:
            if exc.reason != "crc":
                return None
            return self._chunk("mbus", buf, start, end, error=exc), start + 1
        return self._chunk("mbus", buf, start, end, frame=segment), end

    def _try_p1(self, buf: bytearray, start: int, final: bool) -> Any:
        newline = buf.find(b"\n", start, start + 128)
        if newline < 0:
            return None if final or len(buf) - start >= 128 else _NEED_MORE
        ident = buf[start + 1 : newline].rstrip(b"\r")
        if len(ident) < 4 or _NOT_TEXT.search(ident) or buf[start + 1 : start + 4].isspace():
            return None
        blank = buf[newline + 1 : newline + 3]
        if len(blank) < 2 and not final and not blank.startswith(b"\n"):
            return _NEED_MORE
        if not (blank.startswith(b"\n") or blank == b"\r\n"):
            return None
        limit = min(len(buf), start + MAX_TELEGRAM)
        body = newline  # the body up to the last call's end was clean text without an end: skip it
        if self._p1_seen[0] == self._base + start:
            body = max(newline, self._p1_seen[1] - self._base - 1)
        bang = buf.find(b"\n!", body, limit)
        bang = bang + 1 if bang >= 0 else -1
        restart = buf.find(b"/", body, bang if bang >= 0 else limit)  # "/" only opens telegrams
        bad = _NOT_TEXT.search(buf, body, bang if bang >= 0 else limit)
        if bad is not None and (restart < 0 or bad.start() < restart):
            return None
        if restart >= 0:
            err = FrameError("truncated", "P1 telegram cut short: the next one starts before its '!'")
            return self._chunk("p1", buf, start, restart, error=err), restart
        if bang < 0:
            if len(buf) - start >= MAX_TELEGRAM:
                return None
            if not final:
                self._p1_seen = (self._base + start, self._base + limit)
                return _NEED_MORE
            err = FrameError("truncated", "P1 telegram has no end marker '!'")
            return self._chunk("p1", buf, start, len(buf), error=err), len(buf)
        digits = _CRC_TAIL.match(buf, bang + 1)
        tail = digits.end() if digits else bang + 1
        if tail >= len(buf) and not final:
            return _NEED_MORE
        if tail < len(buf) and buf[tail] not in b"\r\n":
            err = FrameError("malformed", "P1 end marker '!' not followed by a CRC and a line end")
            return self._chunk("p1", buf, start, tail, error=err), tail
        end = tail
        while end < len(buf) and end < tail + 2 and buf[end] in b"\r\n":
            end += 1
        return self._chunk("p1", buf, start, end), end

    def _try_apdu(self, buf: bytearray, start: int, final: bool) -> Any:
        if len(buf) < start + 12:
            return None if final else _NEED_MORE
        try:
            size, body = axdr.read_length(bytes(buf[start + 10 : start + 15]), 0)
        except FrameError:
            return None
        end = start + 10 + body + size
        if size > MAX_APDU or size < 17:
            return None
        if len(buf) < end:
            return None if final else _NEED_MORE
        return self._chunk("apdu", buf, start, end), end


Result = tuple[int, MeterReading | FrameError]


class StreamDecoder:
    """Splitter + decoder with the state that spans frames; counts what it sees."""

    def __init__(self, options: DecodeOptions | None = None, fmt: str = "auto") -> None:
        self.options = options or DecodeOptions()
        self.fmt = fmt
        # Raw ciphered APDUs (Luxembourg's encrypted P1) have no frame check of their own: looked
        # for only where they can occur, and only when a key can tell them from noise.
        raw_apdu = fmt == "p1" or (fmt == "auto" and self.options.keys is not None)
        self.splitter = FrameSplitter(han=fmt != "p1", p1=fmt != "han", raw_apdu=raw_apdu)
        self.counts: Counter[str] = Counter()  #: "ok" and one entry per error reason
        self._segments: list[bytes] = []
        self._segment_raw = b""
        self._segment_offset = 0
        self._last_hourly: tuple[Any, Any] | None = None

    def feed(self, data: bytes) -> list[Result]:
        return self._decode_all(self.splitter.feed(data))

    def decode_frame(self, data: bytes) -> MeterReading | FrameError:
        """One complete frame given on its own (``hems decode --hex``), with the same state."""
        try:
            if self.fmt != "auto" and (data.lstrip(b"\r\n")[:1] == b"/") != (self.fmt == "p1"):
                raise FrameError("unsupported", f"not a {self.fmt.upper()} frame (see --format)")
            result: MeterReading | FrameError = self._mark_stale(parse_frame(data, self.options))
        except FrameError as exc:
            result = exc
        self.counts["ok" if isinstance(result, MeterReading) else result.reason] += 1
        return result

    def flush(self) -> list[Result]:
        return self._decode_all(self.splitter.flush())

    def _decode_all(self, chunks: list[Chunk]) -> list[Result]:
        out: list[Result] = []
        for chunk in chunks:
            result = self._decode(chunk)
            if result is not None:
                self.counts["ok" if isinstance(result[1], MeterReading) else result[1].reason] += 1
                out.append(result)
        return out

    def _decode(self, chunk: Chunk) -> Result | None:
        """The decoded frame with its stream offset; None while segments of an APDU are pending."""
        if chunk.error is not None:
            return chunk.offset, chunk.error
        try:
            if chunk.kind == "p1":
                return chunk.offset, parse_telegram(chunk.data)
            if chunk.kind == "apdu":
                return chunk.offset, parse_apdu(chunk.data, self.options, chunk.data)
            hint = None
            if chunk.kind == "hdlc":
                frame: framing.HdlcFrame = chunk.frame
                more, payload, hint = frame.segmented, frame.info, _HDLC_VENDORS.get(frame.src)
            else:
                segment: framing.MbusSegment = chunk.frame
                more, payload = not segment.last, segment.payload
            if not self._segments or len(self._segments) >= 16:  # new APDU (or a lost last segment)
                self._segments, self._segment_raw, self._segment_offset = [], b"", chunk.offset
            self._segments.append(payload)
            self._segment_raw += chunk.data
            if more:
                return None
            apdu = dlms.strip_llc(b"".join(self._segments))
            raw, offset = self._segment_raw, self._segment_offset
            self._segments, self._segment_raw = [], b""
            return offset, self._mark_stale(parse_apdu(apdu, self.options, raw, hint))
        except FrameError as exc:
            self._segments, self._segment_raw = [], b""
            return chunk.offset, exc

    def _mark_stale(self, reading: MeterReading) -> MeterReading:
        """Flag an hourly list whose clock repeats the previous hourly list's clock."""
        fields = reading.fields
        if "meter_clock" in fields and "e_import_kwh" in fields:
            key = (fields.get("meter_id"), fields["meter_clock"])
            if key == self._last_hourly:
                fields["stale_hourly"] = True
            self._last_hourly = key
        return reading
