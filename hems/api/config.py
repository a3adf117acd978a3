"""The household API's section ([api] in hems.toml). Owned by hems.api.

Present means on: the daemon serves the API (and the phone page) while it runs. HTTPS with the
box's own certificate, made on first start; plain HTTP only when bound to the loopback interface.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ApiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # bounds are physical

    host: str = "0.0.0.0"  #: the address to listen on (the LAN); "127.0.0.1" for this box only
    port: int = Field(8443, ge=0, le=65535)  #: 0: any free port (tests)
    tls: bool = True  #: HTTPS with the box's own certificate; false only on a loopback host
    dir: str | None = None  #: certificate and token store (default: "api" beside the database)
    installer_hours: float = Field(24.0, gt=0, le=24 * 14)  #: an installer token's default lifetime
    bad_tokens_per_minute: int = Field(10, ge=1, le=1000)  #: per client, before it is locked out
    lockout_seconds: float = Field(300.0, ge=1, le=86400)  #: how long a locked-out client waits
    max_streams: int = Field(8, ge=1, le=100)  #: live-state streams (SSE) open at once

    @model_validator(mode="after")
    def _plain_only_on_loopback(self) -> ApiConfig:
        if not self.tls and not is_loopback(self.host):
            raise ValueError(
                f"tls = false is allowed only on a loopback host (127.0.0.1, ::1, localhost), "
                f"not on {self.host!r}: the LAN gets HTTPS"
            )
        return self


def api_dir(api: ApiConfig, storage_path: str | Path) -> Path:
    """Where the certificate and the token store live: ``dir``, else ``api/`` beside the database."""
    return Path(api.dir) if api.dir else Path(storage_path).parent / "api"
