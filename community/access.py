"""Who may see what: access keys and the four views of a community's month.

Views (DAISEE's three layers of access, plus the organiser who runs the billing):

- ``organiser`` (the PMO / CER referent / energy provider): everything. Without
  ``organiser_key_hash`` in the members file, whoever holds the file and the data is the organiser,
  and the output says so.
- a participant (``--as ID``): their own bill, series and conformity findings; community totals
  only as far as they do not reveal another participant's data.
- ``producer`` (``--as producer`` or the producer's id): the community totals and their own revenue.
- ``grid-operator``: the exchanges with the grid per metering point, and the arbitration report;
  no money.

Keys are random texts handed to each party; the members file stores only their scrypt hashes
(``scrypt$N$r$p$salt$hash``, base64), so a leaked members file leaks no key. Verification compares
in constant time. An unknown id and a wrong key get the same answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from community.members import Members

N, R, P = 2**14, 8, 1
_HASH = re.compile(r"^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_=-]+)\$([A-Za-z0-9_=-]+)$")
Role = Literal["organiser", "participant", "producer", "grid-operator"]


class AccessDenied(PermissionError):
    """The key does not open the view asked for (the message says which view, never why a guess failed)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key() -> str:
    """A fresh random access key (32 bytes of entropy)."""
    return secrets.token_urlsafe(32)


def hash_key(key: str, salt: bytes | None = None) -> str:
    """The text to store in the members file for ``key``."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(key.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def check_hash_format(text: str) -> None:
    """ValueError unless ``text`` looks like a hash made by `hash_key`."""
    m = _HASH.match(text)
    if not m or int(m.group(1)) < 2**10 or int(m.group(1)) & (int(m.group(1)) - 1):
        raise ValueError(
            "a key hash as printed by `hems community key` (scrypt$16384$8$1$SALT$HASH); "
            "the members file never holds a key itself"
        )


def verify_key(key: str, stored: str) -> bool:
    m = _HASH.match(stored)
    if m is None:
        return False
    n, r, p = int(m.group(1)), int(m.group(2)), int(m.group(3))
    salt, want = _unb64(m.group(4)), _unb64(m.group(5))
    got = hashlib.scrypt(key.encode(), salt=salt, n=n, r=r, p=p, dklen=len(want), maxmem=2**27)
    return hmac.compare_digest(got, want)


@dataclass(frozen=True)
class Viewer:
    role: Role
    participant: str | None = None  #: the participant's or producer's id
    open: bool = False  #: organiser view without an organiser key in the members file

    @property
    def label(self) -> str:
        return f"{self.role} {self.participant}" if self.participant else self.role


def resolve_viewer(members: Members, who: str | None, key: str | None) -> Viewer:
    """The view ``who`` (None: organiser) opened by ``key``; `AccessDenied` otherwise."""
    if who in (None, "organiser"):
        stored = members.community.organiser_key_hash
        if stored is None:
            return Viewer("organiser", open=True)
        if key is None or not verify_key(key, stored):
            raise AccessDenied(
                "the organiser's view needs the organiser's key (HEMS_COMMUNITY_KEY or --key-file)"
            )
        return Viewer("organiser")
    if key is None:
        raise AccessDenied(f"--as {who}: give the access key (HEMS_COMMUNITY_KEY or --key-file)")
    if who == "grid-operator":
        stored = members.grid_operator.key_hash
        if stored is None or not verify_key(key, stored):
            raise AccessDenied("--as grid-operator: this key does not open the grid operator's view")
        return Viewer("grid-operator")
    if who == "producer":
        for p in members.participant:
            if p.injects and p.key_hash is not None and verify_key(key, p.key_hash):
                return Viewer("producer", p.id)
        raise AccessDenied("--as producer: this key is no producer's key")
    found = members.get(who)
    if found is None or found.key_hash is None or not verify_key(key, found.key_hash):
        raise AccessDenied(f"--as {who}: no participant {who!r} with this key")
    return Viewer("producer" if found.role == "producer" else "participant", found.id)
