"""Helpers of the HAN/P1 tests: the real captures of meter_frames.json (imported via conftest)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS_PATH = Path(__file__).parents[1] / "data" / "han" / "meter_frames.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_PATH.read_text())


def payload(vector: dict[str, Any]) -> bytes:
    """The bytes of a vector as a meter (or an LLC-level capture) sent them."""
    if "hex" in vector:
        return bytes.fromhex(vector["hex"])
    if "llc_pdu_hex" in vector:
        return bytes.fromhex(vector["llc_pdu_hex"])
    return vector["telegram"].encode("latin-1")


def is_valid(vector: dict[str, Any]) -> bool:
    return vector["expected"].get("valid", True) and vector["expected"].get("decryptable", True)


def full_frames() -> list[dict[str, Any]]:
    """Vectors that are whole frames as they travel on the wire (not LLC-only extracts)."""
    return [v for v in VECTORS if "hex" in v or "telegram" in v]
