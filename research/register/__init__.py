"""The confidential register: contact details keyed by enrolment, in DIR/register.sqlite alone.

Only enrolment, resignation and the administrator's commands open this file; it is never attached
to, joined with or reachable from research data (the store, server.sqlite, the released views).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from research.paths import DataDir

SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    enrolment TEXT PRIMARY KEY,
    postcode TEXT NOT NULL,
    name TEXT,
    address TEXT,
    email TEXT,
    enrolled_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Contact:
    enrolment: str
    postcode: str
    name: str | None
    address: str | None
    email: str | None
    enrolled_at: str


@contextmanager
def _open(data: DataDir) -> Iterator[sqlite3.Connection]:
    data.ensure()
    new = not data.register_db.exists()
    conn = sqlite3.connect(data.register_db, isolation_level=None)
    try:
        if new:
            os.chmod(data.register_db, 0o600)
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA secure_delete=ON")
        conn.executescript(SCHEMA)
        yield conn
    finally:
        conn.close()


def record_contact(data: DataDir, contact: Contact) -> None:
    with _open(data) as conn:
        conn.execute(
            "INSERT INTO contacts VALUES (?,?,?,?,?,?)",
            (
                contact.enrolment,
                contact.postcode,
                contact.name,
                contact.address,
                contact.email,
                contact.enrolled_at,
            ),
        )


def contact_of(data: DataDir, enrolment: str) -> Contact | None:
    with _open(data) as conn:
        row = conn.execute("SELECT * FROM contacts WHERE enrolment = ?", (enrolment,)).fetchone()
    return None if row is None else Contact(*row)


def forget_contact(data: DataDir, enrolment: str) -> bool:
    """Remove an enrolment's contact details (overwritten in the file, then vacuumed)."""
    with _open(data) as conn:
        gone = conn.execute("DELETE FROM contacts WHERE enrolment = ?", (enrolment,)).rowcount
        conn.execute("VACUUM")
    return bool(gone)
