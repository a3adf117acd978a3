"""Errors a user can act on.

`UsageError` is raised for bad input the user controls (a config file, a scenario, a CLI argument).
The CLI prints its message as one line on stderr and exits 2; it never shows a traceback for it.
The message names where (file, key, device id) and what was expected.
"""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""

    exit_code = 2
