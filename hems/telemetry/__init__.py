"""Telemetry to the research server: de-identified daily batches, an outbox, consent.

The daemon calls ``daily_upload(cfg.telemetry, storage, clock, deidentify_site(cfg.site))``.
What is sent and what never is: docs/telemetry.md.
"""

from hems.telemetry.config import TelemetryConfig
from hems.telemetry.privacy import SiteFacts, deidentify_site, postcode_prefix, privacy_check
from hems.telemetry.upload import UploadResult, Withdrawal, daily_upload, give_consent, preview, withdraw

__all__ = [
    "SiteFacts",
    "TelemetryConfig",
    "UploadResult",
    "Withdrawal",
    "daily_upload",
    "deidentify_site",
    "give_consent",
    "postcode_prefix",
    "preview",
    "privacy_check",
    "withdraw",
]
