"""Ed25519: a job runs only when the research server whose public key is in hems.toml signed it.

The signature covers the UTF-8 bytes of the job's JSON text exactly as published
(`wire.jobs.SignedJob.payload`), so nothing is re-serialised before checking.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from wire.jobs import SignedJob, key_id


class SignatureRefused(ValueError):
    """The job is not signed by the configured server key."""


def verify(signed: SignedJob, server_key_b64: str) -> None:
    """Return quietly when ``signed`` carries a valid signature by ``server_key_b64``."""
    raw = base64.b64decode(server_key_b64)
    try:
        signature = base64.b64decode(signed.signature, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureRefused("the signature is not base64") from None
    if len(signature) != 64:
        raise SignatureRefused(f"the signature has {len(signature)} bytes, an Ed25519 signature 64")
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, signed.payload.encode("utf-8"))
    except InvalidSignature:
        which = (
            "" if not signed.key_id or signed.key_id == key_id(raw) else f" (signed by key {signed.key_id})"
        )
        raise SignatureRefused(
            f"bad signature: the job was not signed by the research server's key {key_id(raw)}{which}"
        ) from None
