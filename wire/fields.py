"""Reading a wire document's fields: each reader names the field and what was expected."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from wire.errors import WireError


def need(doc: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in doc:
        raise WireError(f"{where}.{key}: missing")
    value = doc[key]
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise WireError(f"{where}.{key}: expected a number, got {value!r}")
    if not isinstance(value, kind):
        raise WireError(f"{where}.{key}: expected {kind_name(kind)}, got {value!r}")
    return value


def kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "text", int: "an integer", float: "a number", list: "a list", dict: "an object"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise WireError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


def instant(value: Any, where: str) -> datetime:
    try:
        t = datetime.fromisoformat(str(value))
    except ValueError:
        raise WireError(f"{where}: expected an ISO-8601 time with its offset, got {value!r}") from None
    if t.tzinfo is None:
        raise WireError(f"{where}: expected an ISO-8601 time with its offset, got {value!r}")
    return t


def day(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise WireError(f"{where}: expected a date YYYY-MM-DD, got {value!r}") from None
