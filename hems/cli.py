"""The `hems` command line.

Each subcommand lives in its own module under `hems/commands/` and exposes:

- ``NAME``: the subcommand's name (``"decode"``, ``"plan"``, ...),
- ``HELP``: one line of help,
- ``add_arguments(parser)``: declares its options (it may add its own sub-subcommands),
- ``run(args) -> int``: does the work and returns the exit status.

Modules are discovered, so adding a command never touches this file; only the module of the
command being run is imported, and a module that fails to import disables only its own command.
Command modules import their heavy dependencies (pyomo, pvlib, textual) inside ``run``.
A `UsageError` anywhere becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from hems import __version__
from hems import commands as _commands_pkg
from hems.errors import UsageError


def _module_names() -> list[str]:
    return sorted(
        info.name for info in pkgutil.iter_modules(_commands_pkg.__path__) if not info.name.startswith("_")
    )


def _load(name: str) -> ModuleType | str:
    """The command module, or why it could not be imported (one broken command must not take the
    others down with it)."""
    try:
        module = importlib.import_module(f"{_commands_pkg.__name__}.{name}")
    except Exception as exc:  # e.g. an optional dependency missing
        return f"{type(exc).__name__}: {exc}"
    if not (hasattr(module, "NAME") and hasattr(module, "run")):
        return "not a command module"
    return module


def _unavailable(reason: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        print(f"hems: error: this command is unavailable here: {reason}", file=sys.stderr)
        return 1

    return run


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only`` (a module name), just that subcommand is imported."""
    parser = argparse.ArgumentParser(prog="hems", description="Home energy management box.")
    parser.add_argument("--version", action="version", version=f"hems {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in [only] if only else _module_names():
        loaded = _load(name)
        if isinstance(loaded, str):
            p = sub.add_parser(name.replace("_", "-"), help=f"(unavailable: {loaded})")
            p.add_argument("rest", nargs=argparse.REMAINDER)
            p.set_defaults(_run=_unavailable(loaded))
            continue
        p = sub.add_parser(loaded.NAME, help=loaded.HELP, description=loaded.HELP)
        loaded.add_arguments(p)
        p.set_defaults(_run=loaded.run)
    return parser


def _requested(argv: Sequence[str]) -> str | None:
    """The module of the subcommand named on the command line, when there is one."""
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is None:
        return None
    name = first.replace("-", "_")
    return name if name in _module_names() else None


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_requested(args_in))
    args = parser.parse_args(args_in)
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
