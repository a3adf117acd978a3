"""How the dashboard looks, at the smallest supported terminal (80×24) and a larger one (120×40)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from tui_testing import CannedSource, settle

from hems.clock import ManualClock
from tui.app import HemsApp


def app_on(source: CannedSource, clock: ManualClock) -> HemsApp:
    return HemsApp(source, clock, poll_seconds=3600, stored_seconds=3600)


def showing(*keys: str) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


@pytest.mark.parametrize(
    ("keys", "size"),
    [
        ((), (80, 24)),
        ((), (120, 40)),
        (("c",), (80, 24)),
        (("p",), (80, 24)),
        (("h",), (120, 40)),
        (("a",), (80, 24)),
    ],
    ids=["now-80x24", "now-120x40", "circuits-80x24", "plan-80x24", "history-120x40", "alerts-80x24"],
)
def test_screens(
    snap_compare: Any, source: CannedSource, clock: ManualClock, keys: tuple[str, ...], size: tuple[int, int]
) -> None:
    assert snap_compare(app_on(source, clock), terminal_size=size, run_before=showing(*keys))


def test_no_data_since(snap_compare: Any, source: CannedSource, clock: ManualClock) -> None:
    async def daemon_gone(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        source.state = None
        clock.advance(90)
        pilot.app.poll_live()  # type: ignore[attr-defined]
        await settle(pilot)

    assert snap_compare(app_on(source, clock), terminal_size=(80, 24), run_before=daemon_gone)


def test_monochrome(
    snap_compare: Any, source: CannedSource, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_COLOR: every fact is still there (bars, "!" marks, band words, the stale sentence)."""
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(app_on(source, clock), terminal_size=(80, 24), run_before=showing("c"))
