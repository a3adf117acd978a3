"""Research-job fixtures: twin households' databases, a server key and an HTTPS job server.

The HTTPS server uses the telemetry tests' certificate authority (`pki`, loaded from their conftest).
Helpers live in jobs_testing.py (tests import them from there).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from jobs_testing import JobServer, twin_db

from research.jobs.signing import new_private_key, public_key_b64

_spec = importlib.util.spec_from_file_location(
    "telemetry_conftest", Path(__file__).parents[1] / "telemetry" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_telemetry = importlib.util.module_from_spec(_spec)
sys.modules["telemetry_conftest"] = _telemetry
_spec.loader.exec_module(_telemetry)
pki = _telemetry.pki  # the telemetry tests' CA and server certificate (a session fixture)


@pytest.fixture(scope="session")
def twin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 twin households (seeds 101..120), two days each, made once per session."""
    d = tmp_path_factory.mktemp("twins")
    for seed in range(101, 121):
        twin_db(d / f"home-{seed}.db", seed)
    return d


@pytest.fixture(scope="session")
def server_key() -> Any:
    return new_private_key()


@pytest.fixture(scope="session")
def server_key_b64(server_key: Any) -> str:
    return public_key_b64(server_key)


@pytest.fixture
def job_server(pki: Any) -> Iterator[JobServer]:
    server = JobServer(pki)
    server.start()
    yield server
    server.stop()
