"""What a postcode is, defined once: the config accepts exactly what telemetry can cut to a prefix.

Postcodes across Europe are 4 to 10 letters and digits, written with spaces or hyphens between
groups (``1081``, ``SW1A 1AA``, ``1234 AB``, ``00-950``). Without the spaces and hyphens at least
four characters must remain, or the 3-character prefix telemetry sends would be the whole code.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[ -]")
_CHARACTERS = re.compile(r"^[0-9A-Za-z]{4,10}$")


def compact_postcode(text: str) -> str:
    """``text`` without its spaces and hyphens; ValueError (saying why) when it is no postcode."""
    compact = _SEPARATORS.sub("", text)
    if not _CHARACTERS.match(compact):
        raise ValueError(
            "a postcode of 4 to 10 letters or digits (spaces and hyphens between them do not count)"
        )
    return compact


def postcode_prefix(postcode: str | None) -> str | None:
    """The first three characters of a postcode plus ``x``: ``"1081"`` → ``"108x"``."""
    if postcode is None:
        return None
    return compact_postcode(postcode)[:3].upper() + "x"
