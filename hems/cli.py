"""The `hems` command line.

Each subcommand lives in its own module under `hems/commands/` and exposes:

- ``NAME``: the subcommand's name (``"decode"``, ``"plan"``, ...),
- ``HELP``: one line of help,
- ``add_arguments(parser)``: declares its options (it may add its own sub-subcommands),
- ``run(args) -> int``: does the work and returns the exit status.

Modules are discovered, so adding a command never touches this file. Command modules import their
heavy dependencies (pyomo, pvlib, textual) inside ``run`` so `hems --help` stays fast.
A `UsageError` anywhere becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from hems import __version__
from hems import commands as _commands_pkg
from hems.errors import UsageError


def _command_modules() -> list[ModuleType]:
    modules = []
    for info in sorted(pkgutil.iter_modules(_commands_pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_commands_pkg.__name__}.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            modules.append(module)
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hems", description="Home energy management box.")
    parser.add_argument("--version", action="version", version=f"hems {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except UsageError as exc:
        print(f"hems: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `hems decode ... | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
