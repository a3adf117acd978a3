"""Receiving the boxes' uploads (docs/telemetry.md's transport): ``POST /v1/batches``, ``/v1/deletions``."""
