"""Researcher accounts: apply, the administrator's decision, log in, API keys, the access log.

A researcher applies (name, e-mail, institution, purpose, a password of her choice) and gets a user
id; nothing opens until the administrator approves (`hems research researcher approve USER`). A
refused or revoked researcher's password, sessions and keys stop working at once. Every access to
data is logged (`log_access`): who, when, through what, what was asked, how many rows went out.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from research.accounts.store import open_accounts_db
from research.paths import DataDir

SESSION = timedelta(hours=8)  #: a portal login lasts this long
MIN_PASSWORD = 12
_hasher = PasswordHasher()
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")


class AccountError(ValueError):
    """A request about an account that cannot be done (the reason is the message)."""


@dataclass(frozen=True)
class Researcher:
    user_id: str
    name: str
    email: str
    institution: str
    status: str  #: applied, approved, refused or revoked


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def apply(
    data: DataDir, *, name: str, email: str, institution: str, purpose: str, password: str, now: datetime
) -> str:
    """Record an application; the new user id. `AccountError` for a bad field or a known e-mail."""
    fields = {"name": name, "institution": institution, "purpose": purpose}
    for key, value in fields.items():
        if not value.strip() or len(value) > 2000:
            raise AccountError(f"{key}: required (at most 2000 characters)")
    if not _EMAIL.match(email):
        raise AccountError(f"email: {email!r} is not an e-mail address")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters")
    user_id = "r-" + secrets.token_hex(4)
    with open_accounts_db(data) as db:
        if db.execute("SELECT 1 FROM researchers WHERE email = ?", (email.lower(),)).fetchone():
            raise AccountError(f"email: {email} has applied already")
        db.execute(
            "INSERT INTO researchers (user_id, name, email, institution, purpose, password_hash, applied_at) "
            "VALUES (?,?,?,?,?,?,?)",
            (
                user_id,
                name.strip(),
                email.lower(),
                institution.strip(),
                purpose.strip(),
                _hasher.hash(password),
                now.isoformat(),
            ),
        )
    return user_id


def decide(data: DataDir, user_id: str, status: str, now: datetime, why: str = "") -> Researcher:
    """Approve, refuse or revoke; refusing or revoking ends every session and key at once."""
    if status not in ("approved", "refused", "revoked"):
        raise AccountError(f"status: expected approved, refused or revoked, got {status!r}")
    with open_accounts_db(data) as db:
        row = db.execute("SELECT status FROM researchers WHERE user_id = ?", (user_id,)).fetchone()
        if row is None:
            raise AccountError(f"no researcher {user_id!r}")
        if status == "revoked" and row["status"] != "approved":
            raise AccountError(f"{user_id} is {row['status']}, not approved: nothing to revoke")
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "UPDATE researchers SET status = ?, decided_at = ?, decided_why = ? WHERE user_id = ?",
            (status, now.isoformat(), why, user_id),
        )
        if status != "approved":
            db.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                (now.isoformat(), user_id),
            )
        db.execute("COMMIT")
    found = researcher(data, user_id)
    assert found is not None
    return found


def researcher(data: DataDir, user_id: str) -> Researcher | None:
    with open_accounts_db(data) as db:
        row = db.execute(
            "SELECT user_id, name, email, institution, status FROM researchers WHERE user_id = ?", (user_id,)
        ).fetchone()
    return None if row is None else Researcher(*row)


def researchers(data: DataDir) -> list[dict[str, str | None]]:
    """Every researcher with the application's purpose and the decision (for the administrator)."""
    with open_accounts_db(data) as db:
        rows = db.execute(
            "SELECT user_id, name, email, institution, purpose, status, applied_at, decided_at "
            "FROM researchers ORDER BY applied_at"
        ).fetchall()
    return [dict(r) for r in rows]


def new_api_key(data: DataDir, user_id: str, now: datetime) -> str:
    """A new API key for an approved researcher (shown once; only its hash is kept)."""
    found = researcher(data, user_id)
    if found is None or found.status != "approved":
        raise AccountError(f"{user_id}: only an approved researcher gets an API key")
    key = "hems-rk-" + secrets.token_urlsafe(32)
    with open_accounts_db(data) as db:
        db.execute(
            "INSERT INTO api_keys (key_sha256, user_id, created_at) VALUES (?,?,?)",
            (_sha(key), user_id, now.isoformat()),
        )
    return key


def researcher_from_api_key(data: DataDir, key: str) -> Researcher | None:
    """The approved researcher holding ``key``, or None (unknown, revoked, or not approved)."""
    if not key or len(key) > 200:
        return None
    with open_accounts_db(data) as db:
        row = db.execute(
            "SELECT r.user_id, r.name, r.email, r.institution, r.status FROM api_keys k "
            "JOIN researchers r USING (user_id) WHERE k.key_sha256 = ? AND k.revoked_at IS NULL",
            (_sha(key),),
        ).fetchone()
    return None if row is None or row["status"] != "approved" else Researcher(*row)


def log_in(data: DataDir, email: str, password: str, now: datetime) -> tuple[str, str] | None:
    """(session token, its CSRF token) for an approved researcher's right password, else None."""
    with open_accounts_db(data) as db:
        row = db.execute(
            "SELECT user_id, password_hash, status FROM researchers WHERE email = ?", (email.strip().lower(),)
        ).fetchone()
        if row is None:
            _hasher.hash(password)  # the same work as a known e-mail: no timing oracle
            return None
        try:
            _hasher.verify(row["password_hash"], password)
        except (VerificationError, InvalidHashError):
            return None
        if row["status"] != "approved":
            return None
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        db.execute(
            "INSERT INTO sessions (token_sha256, user_id, csrf, created_at, expires_at) VALUES (?,?,?,?,?)",
            (
                _sha(token),
                row["user_id"],
                csrf,
                now.isoformat(),
                (now + SESSION).isoformat(),
            ),
        )
    return token, csrf


def session(data: DataDir, token: str, now: datetime) -> tuple[Researcher, str] | None:
    """(researcher, CSRF token) of a live session of an approved researcher, else None."""
    if not token or len(token) > 200:
        return None
    with open_accounts_db(data) as db:
        row = db.execute(
            "SELECT r.user_id, r.name, r.email, r.institution, r.status, s.csrf, s.expires_at "
            "FROM sessions s JOIN researchers r USING (user_id) WHERE s.token_sha256 = ?",
            (_sha(token),),
        ).fetchone()
    if row is None or row["status"] != "approved" or row["expires_at"] <= now.isoformat():
        return None
    return Researcher(*tuple(row)[:5]), str(row["csrf"])


def log_out(data: DataDir, token: str) -> None:
    with open_accounts_db(data) as db:
        db.execute("DELETE FROM sessions WHERE token_sha256 = ?", (_sha(token),))


def log_access(
    data: DataDir,
    user_id: str,
    now: datetime,
    *,
    via: str,
    what: str,
    detail: str,
    rows: int | None,
    outcome: str,
) -> None:
    """One line of the access log: who, when, through what (api, portal), what, rows out, outcome."""
    with open_accounts_db(data) as db:
        db.execute(
            "INSERT INTO access_log (user_id, at, via, what, detail, rows, outcome) VALUES (?,?,?,?,?,?,?)",
            (user_id, now.isoformat(), via, what, detail[:4000], rows, outcome[:500]),
        )


def access_log(data: DataDir, user_id: str | None = None) -> list[dict[str, object]]:
    with open_accounts_db(data) as db:
        sql = "SELECT user_id, at, via, what, detail, rows, outcome FROM access_log"
        rows = db.execute(
            sql + " WHERE user_id = ? ORDER BY id" if user_id else sql + " ORDER BY id",
            (user_id,) if user_id else (),
        ).fetchall()
    return [dict(r) for r in rows]
