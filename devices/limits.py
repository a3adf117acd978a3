"""What a household's meters can physically report, by the unit in a channel's name.

One definition for the decoders (a frame carrying an impossible value is refused) and for the
daemon before storage (a value no meter could measure is stored as missing). Generous bounds: they
catch corrupt and hostile data (infinities, NaN, 1e300), not unusual households.
"""

from __future__ import annotations

import math

#: (name starts, name ends, lowest, highest) of a channel's last part (``grid.p_import_w`` ->
#: ``p_import_w``); a house connection stays far inside these
_BOUNDS: tuple[tuple[str, str, float, float], ...] = (
    ("e_", "_kwh", 0.0, 1e9),  # energy registers [kWh]: never negative, never a billion
    ("e_", "_kvarh", 0.0, 1e9),
    ("p", "_w", -1e7, 1e7),  # active power [W]: 10 MW either way
    ("q_", "_var", -1e7, 1e7),  # reactive power [var]
    ("u", "_v", 0.0, 1000.0),  # voltage [V]
    ("i", "_a", -10_000.0, 10_000.0),  # current [A]
    ("freq", "_hz", 0.0, 100.0),  # frequency [Hz]
)


def implausible(name: str, value: object) -> str | None:
    """Why ``value`` cannot be a reading of ``name``, or None when it can (non-numbers pass; other
    names need only be finite)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "not a number" if math.isnan(value) else "not a finite number"
    last = name.rsplit(".", 1)[-1]
    for starts, ends, lo, hi in _BOUNDS:
        if last.startswith(starts) and last.endswith(ends):
            if not lo <= value <= hi:
                return f"outside what a meter can measure ({lo:g} to {hi:g})"
            return None
    return None


def plausible_values(values: dict[str, float]) -> tuple[dict[str, float], dict[str, str]]:
    """``values`` without what no meter could measure (NaN, a missing value, passes); and why each
    dropped one was dropped."""
    kept: dict[str, float] = {}
    dropped: dict[str, str] = {}
    for name, value in values.items():
        reason = None if isinstance(value, float) and math.isnan(value) else implausible(name, value)
        if reason is None:
            kept[name] = value
        else:
            dropped[name] = reason
    return kept, dropped
