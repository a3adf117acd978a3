"""Researcher accounts (DIR/accounts.sqlite): apply, approval, login, API keys, the access log."""

from research.accounts.service import (
    AccountError,
    Researcher,
    access_log,
    apply,
    decide,
    log_access,
    log_in,
    log_out,
    new_api_key,
    researcher,
    researcher_from_api_key,
    researchers,
    session,
)

__all__ = [
    "AccountError",
    "Researcher",
    "access_log",
    "apply",
    "decide",
    "log_access",
    "log_in",
    "log_out",
    "new_api_key",
    "researcher",
    "researcher_from_api_key",
    "researchers",
    "session",
]
