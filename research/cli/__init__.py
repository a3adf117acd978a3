"""`hems research ...`: the research server's command line.

Each subcommand is a module listed in ``SUBCOMMANDS`` with ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int`` (adding one is one import and one list entry).
Bad input is one line on stderr and exit status 2 (`CliError`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from research.cli import enrol, households, job, privacy_report, researcher, resign, serve


class CliError(Exception):
    """Bad input: printed as one line, exit status 2."""


SUBCOMMANDS: list[ModuleType] = [serve, enrol, households, resign, privacy_report, job, researcher]


def add_subcommands(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="research_command", metavar="ACTION", required=True)
    for module in SUBCOMMANDS:
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_research_run=module.run)


def dispatch(args: argparse.Namespace) -> int:
    try:
        return int(args._research_run(args))
    except (CliError, ValueError, LookupError) as exc:
        print(f"hems research {args.research_command}: error: {exc}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hems research", description="The research server.")
    add_subcommands(parser)
    return dispatch(parser.parse_args(argv))
