"""The one error the wire modules raise: a document that is not what the format says."""

from __future__ import annotations


class WireError(ValueError):
    """A malformed document; the message names the field and what was expected."""
