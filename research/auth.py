"""Households' upload tokens: issued at enrolment, stored only as SHA-256 hashes, revoked at resign.

Tokens are 256-bit random strings, so a plain SHA-256 is enough to make the stored hash useless to a
thief (no dictionary to try); a slow password hash would cost every upload for nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass

from research.paths import DataDir
from research.serverdb import open_server_db


@dataclass(frozen=True)
class Household:
    """An enrolled, active household as its token identifies it."""

    enrolment: str  #: the administrator's handle (e.g. ``e-7k2q...``), also the register's key
    household_id: str | None  #: the box's pseudonymous id, once it has uploaded (None before)
    prefix: str  #: the enrolled postcode prefix, e.g. ``108x``


def new_token() -> str:
    return "hems-" + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def household_from_token(data_dir: DataDir, bearer: str) -> Household | None:
    """The active household holding ``bearer`` (the token, without ``Bearer``), or None."""
    with open_server_db(data_dir) as db:
        return household_in(db, bearer)


def household_in(db: sqlite3.Connection, bearer: str) -> Household | None:
    """`household_from_token` on an open server database connection."""
    if not bearer or len(bearer) > 200:
        return None
    digest = token_hash(bearer)
    row = db.execute(
        "SELECT enrolment, household_id, prefix, token_sha256 FROM enrolments "
        "WHERE token_sha256 = ? AND status = 'active'",
        (digest,),
    ).fetchone()
    if row is None or not hmac.compare_digest(row["token_sha256"], digest):
        return None
    return Household(row["enrolment"], row["household_id"], row["prefix"])
