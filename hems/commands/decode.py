"""`hems decode`: decode smart-meter frames (HAN/DLMS or P1) to JSON Lines.

Input: ``--hex`` frames (one frame each), or a file / stdin holding hex text (one frame per line,
``#`` comments allowed) or a raw binary capture of the serial byte stream. Output: one JSON object
per frame found, in input order: its readings, or ``{"error": reason, "detail": ...}``.
Exit 0 when the input could be read, 2 when it could not.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from hems.errors import UsageError

NAME = "decode"
HELP = "decode smart-meter frames (HAN/DLMS, P1/DSMR) to JSON Lines"

_HEX_LINE = re.compile(rb"^\s*(?:0x)?[0-9A-Fa-f:\s]+$")
_TEXT = re.compile(rb"^[\t\n\r\x20-\x7e]*$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", metavar="FILE|-", help="hex lines or a raw capture; - for stdin")
    parser.add_argument("--format", choices=["auto", "han", "p1"], default="auto", help="frame kind")
    parser.add_argument("--hex", action="append", default=[], metavar="HEX", help="one frame in hex")
    parser.add_argument("--key", metavar="HEX", help="encryption key (GUEK), 32 hex digits")
    parser.add_argument("--auth-key", metavar="HEX", help="authentication key (GAK), 32 hex digits")
    parser.add_argument("--country", metavar="CC", help="meter's country, e.g. NO or SE (Kamstrup energy)")
    parser.add_argument(
        "--kamstrup-energy-wh", type=int, choices=[1, 10], help="Wh per count of Kamstrup energy registers"
    )


def _unhex(text: bytes, where: str) -> bytes:
    cleaned = re.sub(rb"0x|[\s:]", b"", text)
    try:
        return bytes.fromhex(cleaned.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        raise UsageError(f"{where}: not hex (expected pairs of hex digits, got {text[:40]!r})") from None


def _hex_lines(content: bytes, name: str) -> list[tuple[str, bytes]] | None:
    """The frames of a hex-text file, or None when the content is a raw capture."""
    lines = [
        (number, line)
        for number, line in enumerate(content.split(b"\n"), start=1)
        if line.strip() and not line.lstrip().startswith(b"#")
    ]
    if lines and all(_HEX_LINE.match(line) for _n, line in lines):
        return [(f"line:{n}", _unhex(line, f"{name}: line {n}")) for n, line in lines]
    if lines and _TEXT.match(content) and b"/" not in content and b"\x7e" not in content:
        number, line = next((n, line) for n, line in lines if not _HEX_LINE.match(line))
        raise UsageError(
            f"{name}: line {number} is not hex and the file is not a meter capture: {line[:40]!r}"
        )
    return None


def _read_input(args: argparse.Namespace) -> tuple[str, bytes] | None:
    if args.file is None and args.hex:
        return None
    if args.file in (None, "-"):
        return "stdin", sys.stdin.buffer.read()
    try:
        return args.file, Path(args.file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None


def _emit(result: Any, where: dict[str, Any]) -> None:
    from devices.han.decode import MeterReading

    if isinstance(result, MeterReading):
        obj = {"format": result.protocol, **where, **result.fields}
    else:
        obj = {**result.as_dict(), **where}
    sys.stdout.write(json.dumps(obj) + "\n")


def run(args: argparse.Namespace) -> int:
    from devices.han.decode import DecodeOptions
    from devices.han.dlms import Keys
    from devices.han.stream import StreamDecoder

    try:
        keys = Keys.from_hex(args.key, args.auth_key) if args.key or args.auth_key else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if keys is not None and keys.encryption is None:
        raise UsageError("--auth-key needs --key (the encryption key) too")
    country = args.country.upper() if args.country else None
    options = DecodeOptions(keys=keys, country=country, kamstrup_energy_wh=args.kamstrup_energy_wh)
    frames = [(f"hex:{i}", _unhex(text.encode(), f"--hex #{i}")) for i, text in enumerate(args.hex, 1)]
    source = _read_input(args)
    decoder = StreamDecoder(options, fmt=args.format)
    stream: bytes | None = None
    if source is not None:
        name, content = source
        lines = _hex_lines(content, name)
        if lines is None:
            stream = content
        else:
            frames += lines
    for label, data in frames:
        _emit(decoder.decode_frame(data), {"input": label})
    if stream is not None:
        for offset, result in decoder.feed(stream) + decoder.flush():
            _emit(result, {"offset": offset})
    return 0
