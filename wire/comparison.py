"""Groups of similar homes and the comparison answer (``hems-comparison/1``), defined once for the box
and the research server (docs/research.md, "Social comparison").

A group key names the site facts a group shares, in a fixed order: ``fuse=25,heating=heat_pump,
pv=0,ev=1``; any of them may be left out (``heating=heat_pump``), and ``all`` is every home of the
prefix. Standard library only.
"""

from __future__ import annotations

import math
import re
from typing import Any

from wire.errors import WireError
from wire.telemetry import HEATING

SCHEMA = "hems-comparison/1"
#: the group dimensions, in the order a key names them
DIMENSIONS = ("fuse", "heating", "pv", "ev")
ALL = "all"
QUANTILES = ("p10", "p25", "p50", "p75", "p90")
FIGURES = ("homes", "mean", *QUANTILES)
_PREFIX = re.compile(r"^(?=.{4}$)[0-9A-Z]{0,3}x+$")


def group_key(facts: dict[str, Any]) -> str:
    """The key of the group ``facts`` (some of fuse [A], heating, pv, ev; None: left out) name."""
    parts = []
    for dim in DIMENSIONS:
        value = facts.get(dim)
        if value is None:
            continue
        if dim == "fuse":
            parts.append(f"fuse={float(value):g}")
        elif dim == "heating":
            parts.append(f"heating={value}")
        else:
            parts.append(f"{dim}={int(bool(value))}")
    return ",".join(parts) or ALL


def parse_group(text: str) -> dict[str, Any]:
    """``fuse=25,pv=1`` → ``{"fuse": 25.0, "pv": True}`` (``all`` → {}), or a `WireError`."""
    text = text.strip()
    if text in ("", ALL):
        return {}
    out: dict[str, Any] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name not in DIMENSIONS:
            raise WireError(
                f"group: expected name=value with a name of {', '.join(DIMENSIONS)}, got {part!r}"
            )
        if name in out:
            raise WireError(f"group: {name} appears twice")
        if name == "fuse":
            try:
                fuse = float(value)
            except ValueError:
                fuse = math.nan
            if not 1 <= fuse <= 1000:
                raise WireError(f"group: fuse: expected 1 to 1000 A, got {value!r}")
            out[name] = fuse
        elif name == "heating":
            if value not in HEATING:
                raise WireError(f"group: heating: expected one of {', '.join(HEATING)}, got {value!r}")
            out[name] = value
        else:
            if value not in ("0", "1"):
                raise WireError(f"group: {name}: expected 0 or 1, got {value!r}")
            out[name] = value == "1"
    return out


def check_prefix(text: str) -> str:
    """A released postcode-prefix label (``108x``, ``10xx``), or a `WireError`."""
    if not _PREFIX.match(text):
        raise WireError(f"prefix: expected a released postcode prefix such as 108x or 10xx, got {text!r}")
    return text


def _figures(doc: Any, where: str) -> dict[str, float]:
    if not isinstance(doc, dict) or set(doc) != set(FIGURES):
        raise WireError(f"{where}: expected {', '.join(FIGURES)}")
    for name in FIGURES:
        value = doc[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise WireError(f"{where}.{name}: expected a number, got {value!r}")
    return {name: float(doc[name]) for name in FIGURES}


def parse_comparison(doc: Any) -> dict[str, Any]:
    """A server's comparison answer, checked: schema, prefix, group, month, k, monthly (or null) and
    daily figures. Returns it normalised; a `WireError` names what is wrong."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise WireError(f"comparison: expected a {SCHEMA!r} document")
    check_prefix(str(doc.get("prefix")))
    group = group_key(parse_group(str(doc.get("group"))))
    month = doc.get("month")
    if not isinstance(month, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise WireError(f"comparison.month: expected YYYY-MM, got {month!r}")
    k = doc.get("k")
    if not isinstance(k, int) or k < 1:
        raise WireError(f"comparison.k: expected a positive whole number, got {k!r}")
    monthly = None if doc.get("monthly") is None else _figures(doc["monthly"], "comparison.monthly")
    daily = doc.get("daily")
    if not isinstance(daily, list):
        raise WireError("comparison.daily: expected a list")
    days = []
    for i, entry in enumerate(daily):
        if not isinstance(entry, dict) or not isinstance(entry.get("day"), str):
            raise WireError(f"comparison.daily[{i}]: expected a day and its figures")
        days.append(
            {"day": entry["day"], **_figures({f: entry.get(f) for f in FIGURES}, f"comparison.daily[{i}]")}
        )
    for where, figures in [("monthly", monthly), *((d["day"], d) for d in days)]:
        if figures is not None and figures["homes"] < k:
            raise WireError(f"comparison.{where}: fewer than k={k} homes")
    return {
        "schema": SCHEMA,
        "prefix": doc["prefix"],
        "group": group,
        "month": month,
        "k": k,
        "measure": doc.get("measure"),
        "monthly": monthly,
        "daily": days,
    }
