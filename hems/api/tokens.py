"""Roles and tokens of the household API, kept hashed in a small SQLite file of their own.

A token is ``hems_<id>_<secret>``: the id (8 hex digits) finds the row, the secret (256 random bits)
is checked against its SHA-256 digest with a constant-time comparison. Only the digest is stored, so
a token is shown once, when it is made, and can never be read back; a random 256-bit secret needs
no slow password hash (nothing to guess), and a digest keeps every request's check under a
millisecond. Every request reads the store afresh, so a revocation or an expiry takes effect at once.

Roles (Energy@home's role-based access): ``owner`` (everything, manages tokens), ``member`` (reads the
household's data), ``display`` (the live state only), ``installer`` (configuration check and
diagnostics; always time-limited) and ``appliance`` (only its own schedule and state).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROLES = ("owner", "member", "display", "installer", "appliance")

#: what each role may do; an endpoint names the one scope it needs
SCOPES: dict[str, frozenset[str]] = {
    "owner": frozenset({"live", "data", "appliance", "diagnostics", "tokens"}),
    "member": frozenset({"live", "data", "appliance"}),
    "display": frozenset({"live"}),
    "installer": frozenset({"diagnostics"}),
    "appliance": frozenset({"appliance"}),
}

_TOKEN = re.compile(r"^hems_([0-9a-f]{8})_([A-Za-z0-9_-]{20,100})$")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS token (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, appliance TEXT,
    digest TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER, revoked INTEGER);
"""


class TokenError(ValueError):
    """A token request that cannot be honoured (unknown role, missing appliance, bad lifetime)."""


@dataclass(frozen=True, slots=True)
class Token:
    """A token's record (never its secret)."""

    id: str
    name: str
    role: str
    appliance: str | None
    created: datetime
    expires: datetime | None
    revoked: datetime | None

    def valid_at(self, now: datetime) -> bool:
        return self.revoked is None and (self.expires is None or now < self.expires)

    @property
    def scopes(self) -> frozenset[str]:
        return SCOPES.get(self.role, frozenset())

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "appliance": self.appliance,
            "created": self.created.isoformat(),
            "expires": self.expires.isoformat() if self.expires else None,
            "revoked": self.revoked.isoformat() if self.revoked else None,
        }


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _time(t: int | None) -> datetime | None:
    return datetime.fromtimestamp(t, UTC) if t is not None else None


class TokenStore:
    """The token file (``tokens.db``, mode 0600, in a 0700 directory). Opened per use: the CLI, the
    API and an owner's requests may change it at any time, and every check sees the newest rows."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def _db(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        if not write and not self.path.exists():
            conn = sqlite3.connect(":memory:")
            conn.executescript(_SCHEMA)
        else:
            if write and not self.path.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
            if write:
                conn.executescript(_SCHEMA)
        try:
            yield conn
        finally:
            conn.close()

    def add(
        self,
        role: str,
        name: str,
        now: datetime,
        *,
        expires: datetime | None = None,
        appliance: str | None = None,
        installer_hours: float = 24.0,
    ) -> tuple[Token, str]:
        """Make a token; returns its record and the token itself (shown once, never stored)."""
        if role not in ROLES:
            raise TokenError(f"role: expected one of {', '.join(ROLES)}, got {role!r}")
        if role == "appliance" and not appliance:
            raise TokenError("an appliance token names its appliance (--appliance ID)")
        if role != "appliance" and appliance:
            raise TokenError(f"--appliance belongs to appliance tokens, not to {role!r}")
        if role == "installer":  # always time-limited
            limit = now + timedelta(hours=installer_hours)
            expires = min(expires, limit) if expires is not None else limit
        if expires is not None and expires <= now:
            raise TokenError("the expiry must lie in the future")
        name = name.strip() or role
        secret = secrets.token_urlsafe(32)
        with self._db(write=True) as db:
            while True:
                tid = secrets.token_hex(4)
                try:
                    db.execute(
                        "INSERT INTO token (id, name, role, appliance, digest, created, expires) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            tid,
                            name[:80],
                            role,
                            appliance,
                            digest(secret),
                            int(now.timestamp()),
                            int(expires.timestamp()) if expires else None,
                        ),
                    )
                    break
                except sqlite3.IntegrityError:  # an id already taken: draw again
                    continue
        token = Token(tid, name[:80], role, appliance, _time(int(now.timestamp())) or now, expires, None)
        return token, f"hems_{tid}_{secret}"

    def list(self) -> list[Token]:
        with self._db() as db:
            rows = db.execute(
                "SELECT id, name, role, appliance, created, expires, revoked FROM token ORDER BY created, id"
            ).fetchall()
        return [
            Token(r[0], r[1], r[2], r[3], datetime.fromtimestamp(r[4], UTC), _time(r[5]), _time(r[6]))
            for r in rows
        ]

    def revoke(self, token_id: str, now: datetime) -> bool:
        """Revoke a token by id (it stops working at once); False when there is no such token."""
        with self._db(write=True) as db:
            cur = db.execute(
                "UPDATE token SET revoked = COALESCE(revoked, ?) WHERE id = ?",
                (int(now.timestamp()), token_id),
            )
            return cur.rowcount > 0

    def check_id(self, token_id: str, now: datetime) -> Token | None:
        """The record of a token already checked, while it is still valid (streams re-check it)."""
        return next((t for t in self.list() if t.id == token_id and t.valid_at(now)), None)

    def check(self, presented: str, now: datetime) -> Token | None:
        """The token's record when ``presented`` is a valid, unexpired, unrevoked token, else None."""
        m = _TOKEN.match(presented.strip())
        if m is None:
            return None
        tid, secret = m.groups()
        with self._db() as db:
            row = db.execute(
                "SELECT id, name, role, appliance, digest, created, expires, revoked FROM token WHERE id = ?",
                (tid,),
            ).fetchone()
        if row is None:
            hmac.compare_digest(digest(secret), digest(""))  # same work for an unknown id
            return None
        if not hmac.compare_digest(digest(secret), row[4]):
            return None
        token = Token(row[0], row[1], row[2], row[3], _time(row[5]) or now, _time(row[6]), _time(row[7]))
        return token if token.valid_at(now) else None
