"""`hems research serve|enrol|households|resign|privacy-report ...`: the research server (another
machine than the box; installed with ``pip install 'hems[research]'``). The commands live in
`research.cli`, imported only when one runs, so the box's own commands never load it."""

from __future__ import annotations

import argparse

NAME = "research"
HELP = "the research server: serve, enrol, households, resign, privacy-report (needs hems[research])"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from research.cli import add_subcommands

    add_subcommands(parser)


def run(args: argparse.Namespace) -> int:
    from research.cli import dispatch

    return dispatch(args)
