"""The research server (ENTRANS): receives the boxes' de-identified telemetry, stores it as Parquet,
keeps the confidential register apart, deletes a resigned household everywhere, and releases data to
researchers only through `research.store.released.released_connection` (prefixes below k generalised).

Another machine than the box: this package never imports the daemon (`hems`, `devices`, `optimiser`,
`tui`); it shares only the wire format (`wire`). Installed with ``pip install 'hems[research]'``.
Documented in docs/research.md.
"""
