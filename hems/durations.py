"""Parsing of durations and dates given on the command line."""

from __future__ import annotations

import re
from datetime import date, timedelta

from hems.errors import UsageError

_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_UNIT_S = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str, option: str = "duration") -> timedelta:
    """``"26h"``, ``"10m"``, ``"1d12h"``, ``"90s"`` → timedelta; UsageError otherwise."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or _PART.sub("", compact):
        raise UsageError(f"{option}: expected a duration such as 2h, 26h, 10m or 1d12h, got {text!r}")
    seconds = sum(float(n) * _UNIT_S[u] for n, u in _PART.findall(compact))
    if seconds <= 0:
        raise UsageError(f"{option}: expected a positive duration, got {text!r}")
    return timedelta(seconds=seconds)


def parse_date(text: str, option: str = "date") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: expected a date as YYYY-MM-DD, got {text!r}") from None
