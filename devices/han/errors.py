"""The one error type of the meter parsers, with a machine-readable reason."""

from __future__ import annotations

from typing import Any

#: Reasons a frame is rejected; ``hems decode`` prints them as ``{"error": reason, ...}``.
REASONS = (
    "crc",  # HCS, FCS, M-Bus checksum or P1 CRC mismatch
    "truncated",  # the frame ends before its declared length / before the end marker
    "malformed",  # framing or A-XDR structure that cannot be decoded
    "unsupported",  # well-formed, but a kind of frame or list this decoder does not know
    "no_key",  # encrypted and no key configured
    "auth",  # the GCM authentication tag does not match (wrong authentication key)
    "decrypt",  # decryption gave no valid APDU (wrong encryption key)
    "implausible_value",  # a value no meter can measure (an infinity, NaN, 1e300 W)
)


class FrameError(Exception):
    """A frame failed a check or could not be decoded. ``reason`` is one of `REASONS`."""

    def __init__(self, reason: str, detail: str, **extra: Any) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.reason, "detail": self.detail, **self.extra}
