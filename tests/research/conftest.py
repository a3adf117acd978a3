"""Research-server fixtures: a data directory with enrolled households, and the real server (uvicorn,
TLS with the telemetry tests' CA) in a thread."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from research_testing import Uploader

from research.enrol import Enrolled, enrol
from research.ingest.service import Limits
from research.paths import DataDir
from research.server import ServeOptions, ThreadedServer

_spec = importlib.util.spec_from_file_location(
    "telemetry_conftest", Path(__file__).parents[1] / "telemetry" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_telemetry = sys.modules.get("telemetry_conftest") or importlib.util.module_from_spec(_spec)
if "telemetry_conftest" not in sys.modules:
    sys.modules["telemetry_conftest"] = _telemetry
    _spec.loader.exec_module(_telemetry)
pki = _telemetry.pki  # the telemetry tests' CA and server certificate (a session fixture)


@dataclass
class Research:
    data: DataDir
    server: ThreadedServer
    pki: Any

    def enrol(self, postcode: str = "1081", **contact: str) -> Enrolled:
        return enrol(self.data, postcode, now=datetime.now(UTC), **contact)

    def uploader(self, enrolled: Enrolled) -> Uploader:
        return Uploader(self.server.url, enrolled.token, self.pki.ca_file)


def start(data: Path, pki: Any, limits: Limits | None = None) -> ThreadedServer:
    opts = ServeOptions(data, port=0, cert=pki.cert_file, key=pki.key_file, limits=limits or Limits())
    return ThreadedServer(opts).start()


@pytest.fixture
def research(tmp_path: Path, pki: Any) -> Iterator[Research]:
    data = DataDir(tmp_path / "research").ensure()
    server = start(data.root, pki)
    try:
        yield Research(data, server, pki)
    finally:
        server.stop()
