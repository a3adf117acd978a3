"""The direction of dependency (docs/architecture.md) and the daemon's small footprint, checked."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
FORBIDDEN = {
    "devices": {"hems", "optimiser", "tariffs", "tui"},
    "tariffs": {"hems", "optimiser", "devices", "tui"},
    "optimiser": {"hems", "devices", "tui"},
    "tui": {"devices", "optimiser"},
    "community": {"hems", "devices", "optimiser", "tui", "research"},
    # the box and the research server meet only on the wire: it imports neither side
    "wire": {"hems", "devices", "optimiser", "tariffs", "tui", "research", "community"},
    # the research server (another machine): the wire format only, never the box's daemon
    "research": {"hems", "devices", "optimiser", "tui", "community"},
    # process helpers every part may use: they import nothing of the project
    "lifeline": {"hems", "devices", "optimiser", "tariffs", "tui", "community", "wire", "research"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependency_direction(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_roots(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}")
    assert offenders == []


def test_the_daemon_never_loads_heavy_libraries() -> None:
    """pvlib, pandas, pyomo and textual live in workers and other processes, not in the daemon."""
    code = (
        "import sys, hems.app, hems.daemon, hems.commands.run, hems.commands.demo, hems.control, "
        "hems.control.transport, hems.twin, hems.commands.evaluate, devices.simulated, "
        "devices.appliances.agent, devices.han.reader, devices.modbus.driver\n"
        "heavy = {'pvlib', 'pandas', 'pyomo', 'textual', 'matplotlib', 'highspy',\n"
        "         'fastapi', 'uvicorn', 'pyarrow'}  # the API loads only with [api] (tests/api)\n"
        "heavy |= {'sqlglot', 'opendp'}  # research jobs: checked and noised only when a job is handled\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
