"""The household's own API and phone page ([api] in hems.toml): read-only, on the LAN, with roles.

Light on purpose: the daemon imports this package only when [api] is configured, and FastAPI and
uvicorn are imported only when the server starts (`hems.api.server`), never by the cycle's modules.

- `config`: the [api] section; `tokens`: roles and hashed tokens (a small SQLite file of its own);
  `tls`: the box's own certificate; `guard`: bad-token rate limiting;
- `live`: the live state as the API shows it (redacted, with cost per hour and fuse load);
- `views`: the plan and why, the month, alerts, the 48-hour ESPI feed, diagnostics;
- `app`: the FastAPI application; `server`: uvicorn in its own thread beside the daemon's cycle.
"""
