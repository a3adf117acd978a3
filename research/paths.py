"""Where the research server keeps things: one `DataDir` names every file under ``--data DIR``.

::

    DIR/server.sqlite     enrolments (pseudonym, prefix, token hash, status, last upload),
                          batch index, receipts
    DIR/register.sqlite   the confidential register: contact details keyed by enrolment
                          (nothing else opens it)
    DIR/accounts.sqlite   researchers, API keys, sessions, access log
    DIR/jobs.sqlite       research jobs, box results, signing key reference
    DIR/keys/             server signing key
    DIR/store/            Parquet, partitioned so one household is removed by removing its files
    DIR/staging/          a batch's files being written, before the store lock moves them in
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataDir:
    """The research server's data directory and the paths inside it (the one place they are named)."""

    root: Path

    @property
    def server_db(self) -> Path:
        return self.root / "server.sqlite"

    @property
    def register_db(self) -> Path:
        return self.root / "register.sqlite"

    @property
    def accounts_db(self) -> Path:
        return self.root / "accounts.sqlite"

    @property
    def jobs_db(self) -> Path:
        return self.root / "jobs.sqlite"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    def ensure(self) -> DataDir:
        """Create the directory and the store (owner-only permissions); returns self."""
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        self.store.mkdir(exist_ok=True)
        return self
