"""Exercise sheets and their machine-readable answers (exercises/NN-name/sheet.md).

A sheet is Markdown for students. Its expected answers sit in fenced blocks marked ``answer``
holding TOML, so a test (and a teacher: ``python -m optimiser.teach.sheets exercises``) can solve
the scenario afresh and compare; a sheet cannot drift from the tool. Keys of an answer block:

- ``scenario`` (default ``"scenario.toml"``): the file in the exercise's folder,
- ``status``; ``objective``, ``energy_cost``, ``capacity_cost`` [currency];
  ``max_import_kw`` [kW]; ``export_kwh`` [kWh],
- ``[start]`` id = "HH:MM" (local start of a program),
- ``[appliance_cost]`` id = cost of the chosen start [currency] (as ``--explain`` prices it),
- ``[on_hours]`` id = ["HH:MM", ...] (slots where the appliance uses power),
- ``[mean_price_paid]`` id = mean import price of an energy need or tank [currency/kWh].

Numbers match when they print the same with two decimals (as `hems plan` shows them), and every
number and time of a block must also appear in the sheet's own text, so words and block agree.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Any

from optimiser.teach.session import Solved, solve_file

DECIMALS = 2  #: numbers in sheets are written, and compared, with two decimals
_BLOCK = re.compile(r"^```answer[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_KEYS = {"scenario", "status", "objective", "energy_cost", "capacity_cost", "max_import_kw", "export_kwh"}
_TABLES = {"start", "appliance_cost", "on_hours", "mean_price_paid"}


def parse_answers(text: str, source: str = "<sheet>") -> list[dict[str, Any]]:
    """The answer blocks of a sheet (TOML each); `ValueError` names the sheet and the problem."""
    blocks = []
    for match in _BLOCK.finditer(text):
        try:
            block = tomllib.loads(match.group(1))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{source}: answer block is not valid TOML ({exc})") from None
        unknown = set(block) - _KEYS - _TABLES
        if unknown:
            raise ValueError(f"{source}: answer block: unknown key(s) {sorted(unknown)}")
        blocks.append(block)
    if not blocks:
        raise ValueError(f"{source}: no ```answer block")
    return blocks


def observed(s: Solved, block: dict[str, Any]) -> dict[str, Any]:
    """The values the block asks about, read from a fresh plan, in the block's shape."""
    p, r = s.problem, s.result
    h = p.h
    out: dict[str, Any] = {}
    for key in block:
        if key in ("status", "objective", "energy_cost", "capacity_cost"):
            out[key] = r[key]
        elif key == "max_import_kw":
            out[key] = max(r["grid"]["import_kw"])
        elif key == "export_kwh":
            out[key] = sum(r["grid"]["export_kw"]) * h
    apps, info = r["appliances"], r["explanation"]["appliances"]
    for name in block.get("start", {}):
        when = apps.get(name, {}).get("start")
        out.setdefault("start", {})[name] = None if when is None else when[11:16]
    for name in block.get("appliance_cost", {}):
        out.setdefault("appliance_cost", {})[name] = info.get(name, {}).get("chosen", {}).get("cost")
    for name in block.get("on_hours", {}):
        kw = apps.get(name, {}).get("power_kw", [])
        out.setdefault("on_hours", {})[name] = [
            p.time_of(t).strftime("%H:%M") for t, v in enumerate(kw) if v > 1e-6
        ]
    for name in block.get("mean_price_paid", {}):
        out.setdefault("mean_price_paid", {})[name] = info.get(name, {}).get("mean_price_paid")
    return out


def _same(expected: Any, got: Any) -> bool:
    """Equal; numbers: equal as printed with two decimals (what students see on the screen)."""
    if isinstance(expected, bool) or not isinstance(expected, int | float):
        return bool(expected == got)
    return isinstance(got, int | float) and f"{expected:.{DECIMALS}f}" == f"{got:.{DECIMALS}f}"


def differences(expected: dict[str, Any], got: dict[str, Any], prefix: str = "") -> list[str]:
    """One line per value of `expected` that `got` does not match."""
    out = []
    for key, want in expected.items():
        if key == "scenario":
            continue
        have = got.get(key)
        if isinstance(want, dict):
            out += differences(want, have if isinstance(have, dict) else {}, f"{prefix}{key}.")
        elif not _same(want, have):
            out.append(f"{prefix}{key}: the sheet says {want!r}, the tool says {have!r}")
    return out


def _mentions(expected: dict[str, Any]) -> list[str]:
    """How each number and time of a block is written in the sheet's text."""
    out: list[str] = []
    for key, value in expected.items():
        if key in ("scenario", "status"):
            continue
        if isinstance(value, dict):
            out += _mentions(value)
        elif isinstance(value, list):
            out += [str(v) for v in value]
        elif isinstance(value, float | int) and not isinstance(value, bool):
            out.append(f"{value:.{DECIMALS}f}")
        else:
            out.append(str(value))
    return out


def check_sheet(sheet: str | Path) -> list[str]:
    """Solve every scenario a sheet's answer blocks name and list each disagreement (empty: all agree)."""
    path = Path(sheet)
    text = path.read_text(encoding="utf-8")
    prose = _BLOCK.sub("", text)
    problems = []
    for block in parse_answers(text, str(path)):
        scenario = path.parent / block.get("scenario", "scenario.toml")
        solved = solve_file(scenario)
        problems += [f"{scenario}: {d}" for d in differences(block, observed(solved, block))]
        problems += [
            f"{path}: {word} (from the answer block) is not written in the sheet's text"
            for word in _mentions(block)
            if word not in prose
        ]
    return problems


def main(argv: list[str]) -> int:
    """Check the sheets under each folder given (default: exercises); exit 1 on any disagreement."""
    roots = [Path(a) for a in argv] or [Path("exercises")]
    sheets = sorted(s for root in roots for s in root.glob("*/sheet.md"))
    problems = [line for s in sheets for line in check_sheet(s)]
    for line in problems:
        print(line)
    print(f"{len(sheets)} sheet(s) checked, {len(problems)} disagreement(s)")
    return 1 if problems or not sheets else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
