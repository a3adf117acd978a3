"""Fixtures for the community tests: a community on disk, and the `hems` CLI run in-process."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from community_testing import Community, Runner

from hems.cli import main


@pytest.fixture
def community(tmp_path: Path) -> Community:
    return Community(tmp_path)


@pytest.fixture
def hems(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Runner:
    """Run ``hems ARGS...`` in-process; ``key=`` sets HEMS_COMMUNITY_KEY. Returns (status, out, err)."""

    def run(*args: str, key: str | None = None) -> tuple[int, str, str]:
        if key is None:
            monkeypatch.delenv("HEMS_COMMUNITY_KEY", raising=False)
        else:
            monkeypatch.setenv("HEMS_COMMUNITY_KEY", key)
        capsys.readouterr()
        status = main(list(args))
        out, err = capsys.readouterr()
        return status, out, err

    return run
