"""DLMS application layer of the push frames: LLC header, data-notification, general-glo-ciphering.

Pure functions. The optional ``cryptography`` package is imported only when a frame is encrypted
and a key was configured, so plain Norwegian meters never load it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devices.han import axdr
from devices.han.errors import FrameError

LLC = b"\xe6\xe7\x00"
DATA_NOTIFICATION = 0x0F
GENERAL_GLO_CIPHERING = 0xDB
GENERAL_BLOCK_TRANSFER = 0xE0


@dataclass(frozen=True, slots=True)
class Keys:
    """The household's keys for encrypted meters (16 bytes each), from its grid company."""

    encryption: bytes | None = None
    authentication: bytes | None = None

    @classmethod
    def from_hex(cls, encryption: str | None, authentication: str | None = None) -> Keys:
        """Raises ValueError with a specific message on a malformed key."""
        return cls(_key(encryption, "encryption"), _key(authentication, "authentication"))


def normalise_key(text: str) -> str:
    """A key as 32 hex digits (spaces, colons and 0x allowed); ValueError saying what is expected."""
    cleaned = text.strip().replace(" ", "").replace(":", "").removeprefix("0x")
    if len(cleaned) != 32 or any(c not in "0123456789abcdefABCDEF" for c in cleaned):
        raise ValueError("a 16-byte key as 32 hex digits (from the grid company)")
    return cleaned


def _key(text: str | None, what: str) -> bytes | None:
    if text is None:
        return None
    try:
        return bytes.fromhex(normalise_key(text))
    except ValueError as exc:
        raise ValueError(f"{what} key: expected {exc}, got {text!r}") from None


@dataclass(frozen=True, slots=True)
class Notification:
    """A decoded data-notification APDU."""

    invoke_id: int
    datetime: axdr.CosemDateTime | None
    body: axdr.Value
    security: dict[str, Any] | None = None  #: set when the APDU arrived ciphered


def strip_llc(info: bytes) -> bytes:
    """The APDU inside an HDLC information field (LLC ``E6 E7 00`` is optional)."""
    if info[:3] == LLC:
        return info[3:]
    return info


def decipher(apdu: bytes, keys: Keys | None) -> tuple[bytes, dict[str, Any] | None]:
    """Plain APDU (or P1 telegram) and the security header; ``apdu`` itself when not ciphered."""
    if not apdu or apdu[0] != GENERAL_GLO_CIPHERING:
        return apdu, None
    if len(apdu) < 11 or apdu[1] != 8:
        raise FrameError("malformed", "general-glo-ciphering header is cut short")
    system_title = apdu[2:10]
    size, pos = axdr.read_length(apdu, 10)
    if size < 5 or pos + size > len(apdu):
        raise FrameError("truncated", f"ciphered APDU declares {size} bytes, {len(apdu) - pos} present")
    sc = apdu[pos]
    ic = apdu[pos + 1 : pos + 5]
    payload = apdu[pos + 5 : pos + size]
    authenticated = bool(sc & 0x10)
    tag = b""
    if authenticated:
        if len(payload) < 12:
            raise FrameError("truncated", "ciphered APDU too short for its 12-byte tag")
        payload, tag = payload[:-12], payload[-12:]
    security: dict[str, Any] = {
        "system_title": system_title.hex(),
        "security_control": sc,
        "invocation_counter": int.from_bytes(ic, "big"),
    }
    if keys is None or keys.encryption is None:
        raise FrameError(
            "no_key", "frame is encrypted and no key is configured", decryptable=False, **security
        )
    iv = system_title + ic
    plain = _decrypt(keys, sc, iv, payload, tag, security)
    if not plain or plain[0] not in (DATA_NOTIFICATION, ord("/")):
        raise FrameError("decrypt", "decrypted data is not an APDU: wrong encryption key?", **security)
    security.setdefault("authenticated", False)
    return plain, security


def _decrypt(keys: Keys, sc: int, iv: bytes, payload: bytes, tag: bytes, security: dict[str, Any]) -> bytes:
    from cryptography.exceptions import InvalidTag  # lazy: only when a key is set
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    assert keys.encryption is not None
    if not sc & 0x20:  # authentication only: the payload is plain text
        plain = payload
        if tag and keys.authentication is not None:
            aad = bytes([sc]) + keys.authentication + payload
            cipher = Cipher(algorithms.AES(keys.encryption), modes.GCM(iv, tag, min_tag_length=12))
            dec = cipher.decryptor()
            dec.authenticate_additional_data(aad)
            try:
                dec.finalize()
            except InvalidTag:
                raise FrameError("auth", "authentication tag mismatch: wrong authentication key?") from None
            security["authenticated"] = True
        return plain
    if tag and keys.authentication is not None:
        cipher = Cipher(algorithms.AES(keys.encryption), modes.GCM(iv, tag, min_tag_length=12))
        dec = cipher.decryptor()
        dec.authenticate_additional_data(bytes([sc]) + keys.authentication)
        plain = dec.update(payload)
        try:
            plain += dec.finalize()
        except InvalidTag:
            raise FrameError(
                "auth", "authentication tag mismatch: wrong encryption or authentication key?"
            ) from None
        security["authenticated"] = True
        return plain
    # Encryption only (or no authentication key): GCM without the tag is AES-CTR from counter 2.
    ctr = Cipher(algorithms.AES(keys.encryption), modes.CTR(iv + b"\x00\x00\x00\x02")).decryptor()
    return ctr.update(payload) + ctr.finalize()


def encipher(apdu: bytes, system_title: bytes, invocation_counter: int, keys: Keys, sc: int = 0x30) -> bytes:
    """general-glo-ciphering of ``apdu`` (for tests and simulators); tag appended when SC & 0x10."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    assert keys.encryption is not None and len(system_title) == 8
    ic = invocation_counter.to_bytes(4, "big")
    iv = system_title + ic
    if sc & 0x10:
        assert keys.authentication is not None
        gcm = Cipher(algorithms.AES(keys.encryption), modes.GCM(iv)).encryptor()
        gcm.authenticate_additional_data(bytes([sc]) + keys.authentication)
        body = gcm.update(apdu) + gcm.finalize() + gcm.tag[:12]
    else:
        ctr = Cipher(algorithms.AES(keys.encryption), modes.CTR(iv + b"\x00\x00\x00\x02")).encryptor()
        body = ctr.update(apdu) + ctr.finalize()
    content = bytes([sc]) + ic + body
    return bytes([GENERAL_GLO_CIPHERING, 8]) + system_title + axdr.encode_length(len(content)) + content


def parse_notification(apdu: bytes) -> Notification:
    """A data-notification: ``0F`` invoke-id(4) date-time body.

    The date-time is ``00`` (absent, Aidon), ``0C`` + 12 bytes (Kamstrup) or ``09 0C`` + 12 bytes
    (Kaifa's extra octet-string tag).
    """
    if not apdu:
        raise FrameError("malformed", "empty APDU")
    if apdu[0] == GENERAL_BLOCK_TRANSFER:
        raise FrameError("unsupported", "general-block-transfer APDUs are not supported")
    if apdu[0] != DATA_NOTIFICATION:
        raise FrameError("unsupported", f"APDU type 0x{apdu[0]:02x} is not a data-notification")
    if len(apdu) < 7:
        raise FrameError("truncated", "data-notification header is cut short")
    invoke_id = int.from_bytes(apdu[1:5], "big")
    pos = 5
    stamp = None
    if apdu[pos] == 0x09 and apdu[pos + 1] == 0x0C:
        pos += 1
    if apdu[pos] == 0x0C:
        if pos + 13 > len(apdu):
            raise FrameError("truncated", "data-notification date-time is cut short")
        stamp = axdr.parse_datetime(apdu[pos + 1 : pos + 13])
        pos += 13
    elif apdu[pos] == 0x00:
        pos += 1
    else:
        raise FrameError("malformed", f"bad data-notification date-time prefix 0x{apdu[pos]:02x}")
    body, _end = axdr.decode(apdu, pos)
    return Notification(invoke_id=invoke_id, datetime=stamp, body=body)
