"""`hems plan --plot`: the plan as a text chart that fits 80 columns and reads in monochrome.

Three panels over the same time axis: the import price, the power stacked by consumer (each
appliance its own letter, PV marked with `*`), and the current on the most loaded line against the
main fuse (`=`). Slots are grouped into columns when the day is longer than the chart is wide
(mean power and price per column, largest current).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from optimiser.evaluate import line_currents
from optimiser.problem import Problem
from optimiser.teach.session import Solved

WIDTH = 80  #: total characters per line
_LABEL = 8  #: width of the y-axis labels, including the "|"


def _letters(names: list[str]) -> dict[str, str]:
    """One distinct character per appliance: its first free letter (upper case), else a digit."""
    used = {".", "*", "b", "="}
    out = {}
    for name in names:
        pick = next((c.upper() for c in name if c.isalpha() and c.upper() not in used), None)
        pick = pick or next(d for d in "123456789" if d not in used)
        used.add(pick)
        out[name] = pick
    return out


def _groups(n: int, width: int) -> tuple[list[range], int]:
    """Slot ranges per column and the characters per column (room is left for "  fuse 25 A")."""
    room = width - _LABEL - 12
    per = math.ceil(n / room)
    cols = [range(i, min(i + per, n)) for i in range(0, n, per)]
    return cols, max(1, min(4, room // len(cols)))


def _axis(p: Problem, cols: list[range], cw: int) -> str:
    """Hour labels (HH) under the columns, as often as they fit with a space between."""
    col_h = len(cols[0]) * p.h  # hours per column
    step = next((s for s in (1, 2, 3, 4, 6, 12) if s / col_h * cw >= 3), 24)
    line = [" "] * (len(cols) * cw)
    for c, slots in enumerate(cols):
        when = p.time_of(slots[0])
        if when.minute == 0 and when.hour % step == 0 and c * cw + 2 <= len(line):
            if c * cw > 0 and line[c * cw - 1] != " ":
                continue
            line[c * cw : c * cw + 2] = f"{when.hour:02d}"
    return " " * (_LABEL - 1) + "+" + "".join(line).rstrip()


def _rows(top: float, bottom: float, height: int) -> list[tuple[float, float, str]]:
    """(low, high, label) of each row from the top; label only on a few rows."""
    step = (top - bottom) / height
    out = []
    for r in range(height, 0, -1):
        low, high = bottom + (r - 1) * step, bottom + r * step
        label = f"{high:7.2f}" if r in (height, (height + 1) // 2) else " " * 7
        if r == 1 and bottom != 0:
            label = f"{low:7.2f}"  # a price axis that does not start at 0 says where it starts
        out.append((low, high, label))
    return out


def _axis_bottom(top: float, least: float) -> float:
    """Where a bar axis starts: at the smallest value if it is negative; with only positive values a
    little below the smallest one, so the differences between hours show; at 0 for a flat series."""
    if least < 0:
        return least
    return max(0.0, least - 0.25 * (top - least)) if top > least else 0.0


def _bars(values: np.ndarray, height: int, cw: int, char: str = "#") -> list[str]:
    """Bars from the axis' bottom (labelled when it is not 0); negative values hang below 0."""
    top, least = float(values.max()), float(values.min())
    bottom = _axis_bottom(top, least)
    top = top if top > bottom else bottom + 1.0
    out = []
    for low, high, label in _rows(top, bottom, height):
        mid = (low + high) / 2
        if bottom >= 0:
            cells = [char * cw if v >= mid else " " * cw for v in values]
        else:
            cells = [char * cw if (v >= mid > 0 or v <= mid < 0) else " " * cw for v in values]
        out.append(f"{label}|" + "".join(cells).rstrip())
    return out


def _stack(layers: list[tuple[str, np.ndarray]], pv: np.ndarray, height: int, cw: int) -> list[str]:
    total = sum(v for _, v in layers) if layers else np.zeros_like(pv)
    top = max(float(np.max(total)), float(pv.max()), 0.1)
    rows = _rows(top * 1.05, 0.0, height)
    out = []
    for low, high, label in rows:
        mid = (low + high) / 2
        cells = []
        for c in range(len(pv)):
            char, level = " ", 0.0
            for name, values in layers:
                if level <= mid < level + values[c]:
                    char = name
                    break
                level += values[c]
            if pv[c] > 0 and low <= pv[c] < high:
                char = "*"
            cells.append(char * cw)
        out.append(f"{label}|" + "".join(cells).rstrip())
    return out


def _currents(amps: np.ndarray, fuse: float, height: int, cw: int) -> list[str]:
    """Rows of current [A] with the fuse exactly on a row's top, labelled with its own value."""
    peak = max(float(amps.max()), fuse)
    k = max(1, min(height - 1, math.floor(height * fuse / (peak * 1.05))))  # the fuse's row, from 0
    top = fuse / k * height
    out = []
    for low, high, label in _rows(top, 0.0, height):
        mid = (low + high) / 2
        has_fuse = math.isclose(high, fuse)
        if has_fuse:
            label = f"{fuse:7.2f}"
        cells = [(":" if a >= mid else ("=" if has_fuse else " ")) * cw for a in amps]
        out.append(f"{label}|" + "".join(cells).rstrip() + (f"  fuse {fuse:g} A" if has_fuse else ""))
    return out


def text_chart(s: Solved, width: int = WIDTH) -> str:
    """The three panels and a legend, every line at most `width` characters."""
    p, plan, r = s.problem, s.plan, s.result
    cols, cw = _groups(p.n, width)

    def mean(values: np.ndarray) -> np.ndarray:
        return np.array([float(np.mean(values[list(g)])) for g in cols])

    names = list(r["appliances"])
    letters = _letters(names)
    layers = [(".", mean(p.base_kw))]
    layers += [(letters[n], mean(np.asarray(r["appliances"][n]["power_kw"], dtype=float))) for n in names]
    if p.battery is not None:
        layers.append(("b", mean(plan.charge_kw)))
    per = len(cols[0])
    span = f"{per * p.h * 60:g} min per column" if per > 1 else f"{p.h * 60:g} min per slot"
    name = "/".join(Path(s.source).parts[-2:])
    lines = [f"Plan of {name} ({span}, local time)"[:width], "Import price [per kWh]"]
    lines += _bars(mean(p.import_price), 7, cw)
    lines += [_axis(p, cols, cw), "Power [kW]: what uses it (stacked), PV as *"]
    lines += _stack(layers, mean(p.pv_kw), 10, cw)
    lines.append(_axis(p, cols, cw))
    if p.fuse_a is not None:
        amps = line_currents(p, plan)
        worst = np.max(np.vstack([np.abs(a) for a in amps.values()]), axis=0)
        peak = np.array([float(worst[list(g)].max()) for g in cols])
        lines.append("Current on the most loaded line [A], either direction, and the main fuse (=)")
        lines += _currents(peak, p.fuse_a, 6, cw)
        lines.append(_axis(p, cols, cw))
    legend = ["Legend: . base load", "* PV"] + [f"{letters[n]} {n}" for n in names]
    if p.battery is not None:
        legend.append("b battery charging")
    lines += _wrap_legend(legend, width)
    penalty = sum(x["cost"] for x in r["relaxed"])
    lines.append(
        f"Cost {r['objective']:.2f} = energy {r['energy_cost']:.2f} + capacity {r['capacity_cost']:.2f}"
        + (" + penalty" if penalty else "")
    )
    if penalty:  # the relaxation's price is not money: say so on a line of its own (80 columns)
        lines.append(f"  (penalty {penalty:.2f} for rules the plan had to break: not money)")
    return "\n".join(line[:width] for line in lines)


def _wrap_legend(items: list[str], width: int) -> list[str]:
    out, line = [], ""
    for item in items:
        candidate = f"{line}   {item}" if line else item
        if len(candidate) > width:
            out.append(line)
            candidate = "        " + item
        line = candidate
    return [*out, line]
