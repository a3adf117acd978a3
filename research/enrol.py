"""Enrolling a household: an enrolment handle and upload token on the research side, its contact
details (and full postcode) in the confidential register only."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from research.auth import new_token, token_hash
from research.paths import DataDir
from research.register import Contact, record_contact
from research.serverdb import open_server_db


@dataclass(frozen=True)
class Enrolled:
    enrolment: str
    token: str  #: shown once; only its hash is kept
    prefix: str


def postcode_prefix(postcode: str) -> str:
    """The box's rule (docs/telemetry.md): the first three characters plus ``x`` (``1081`` → ``108x``)."""
    compact = re.sub(r"[\s-]", "", postcode).upper()
    if len(compact) < 4 or not compact.isalnum():
        raise ValueError(f"postcode {postcode!r}: expected at least four letters or digits")
    return compact[:3] + "x"


def new_enrolment() -> str:
    return "e-" + secrets.token_hex(6)


def enrol(
    data: DataDir,
    postcode: str,
    *,
    now: datetime,
    name: str | None = None,
    address: str | None = None,
    email: str | None = None,
) -> Enrolled:
    prefix = postcode_prefix(postcode)
    enrolment, token = new_enrolment(), new_token()
    with open_server_db(data) as db:
        db.execute(
            "INSERT INTO enrolments (enrolment, prefix, token_sha256, enrolled_at) VALUES (?,?,?,?)",
            (enrolment, prefix, token_hash(token), now.isoformat()),
        )
    record_contact(data, Contact(enrolment, postcode.strip(), name, address, email, now.isoformat()))
    return Enrolled(enrolment, token, prefix)


@dataclass(frozen=True)
class EnrolmentRow:
    enrolment: str
    prefix: str
    status: str
    enrolled_at: str
    last_upload_at: str | None
    uploaded: bool  #: a box has sent data under it


def list_enrolments(data: DataDir) -> list[EnrolmentRow]:
    """Enrolments by pseudonym, prefix and last upload only (no contact details, no household id)."""
    with open_server_db(data) as db:
        rows = db.execute(
            "SELECT enrolment, prefix, status, enrolled_at, last_upload_at, household_id IS NOT NULL "
            "FROM enrolments ORDER BY enrolled_at, enrolment"
        ).fetchall()
    return [EnrolmentRow(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]
