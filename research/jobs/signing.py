"""Ed25519 keys and signatures for accepted jobs (the boxes hold the public key in [research_jobs]).

The server signs the UTF-8 bytes of the job's JSON text and publishes both (`wire.jobs.SignedJob`);
a box checks the signature over exactly those bytes, so no canonical JSON form is needed.
"""

from __future__ import annotations

import base64
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wire.jobs import Job, SignedJob, key_id


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_b64(private: Ed25519PrivateKey) -> str:
    """What a household puts in [research_jobs] ``server_key``: base64 of the 32 raw public bytes."""
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def save_private_key(private: Ed25519PrivateKey, path: str | Path) -> None:
    """PEM (PKCS#8, unencrypted), readable by the server's user only from its first byte.

    Written to a temporary file created with mode 0600, then linked to ``path`` in one step, so a
    reader sees the whole key or none; `FileExistsError` when ``path`` exists (a key is never
    overwritten: the boxes hold its public half).
    """
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def sign_job(job: Job, private: Ed25519PrivateKey) -> SignedJob:
    """The job as published to the boxes: its JSON text and the signature over it."""
    payload = job.to_json()
    signature = private.sign(payload.encode("utf-8"))
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return SignedJob(payload, base64.b64encode(signature).decode("ascii"), key_id(raw))
