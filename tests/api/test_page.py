"""The phone page in a real browser: headless Chromium (Debian's, launched by path) through Playwright."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import Box

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def open_page(browser: object, box: Box, token: str) -> tuple[object, list[str]]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, timezone_id="Europe/Oslo")  # type: ignore[attr-defined]
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{box.url}/#token={token}")
    return page, requests


def test_the_page_shows_now_plan_capacity_alerts_and_month(browser: object, box: Box, tmp_path: Path) -> None:
    page, requests = open_page(browser, box, box.token("member"))
    expect = playwright_api.expect
    expect(page.locator("#now-power")).to_have_text("2.45 kW")
    expect(page.locator("#now-cost")).to_have_text("3.67 NOK/h")
    expect(page.locator("#fuse .bar")).to_have_count(3)
    expect(page.locator("#fuse .bar").nth(2)).to_contain_text("20.0 / 25 A")
    expect(page.locator("#plan-runs li")).to_have_count(5)
    expect(page.locator("#plan-runs")).to_contain_text("dishwasher 21:45–23:45")
    expect(page.locator("#plan-runs")).to_contain_text("the cheapest start given the rest of the plan")
    expect(page.locator("#plan-notes")).to_contain_text("capacity 2026-01")
    expect(page.locator("#cap-month")).to_contain_text("three largest daily peaks average")
    expect(page.locator("#cap-peaks li")).to_have_count(3)
    expect(page.locator("#alerts-active")).to_contain_text("heading for 6.2 kWh")
    expect(page.locator("#alerts-events")).to_contain_text("paused ev for 10 min")
    expect(page.locator("#month-cost")).to_contain_text("NOK")
    expect(page.locator("#status")).to_contain_text("live")
    assert page.url == f"{box.url}/"  # the token left the address bar
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    origin = urlsplit(box.url).netloc
    foreign = [u for u in requests if not u.startswith("data:") and urlsplit(u).netloc != origin]
    assert foreign == [], f"the page asked other hosts: {foreign}"
    assert any(u.endswith("/api/v1/live/stream") for u in requests)


def test_a_display_token_shows_only_now(browser: object, box: Box) -> None:
    page, _ = open_page(browser, box, box.token("display"))
    expect = playwright_api.expect
    expect(page.locator("#now-power")).to_have_text("2.45 kW")
    for section in ("#plan", "#capacity", "#alerts", "#month"):
        expect(page.locator(section)).to_be_hidden()


def test_a_revoked_token_signs_the_page_out(browser: object, box: Box) -> None:
    token = box.token("member")
    page, _ = open_page(browser, box, token)
    expect = playwright_api.expect
    expect(page.locator("#now-power")).to_have_text("2.45 kW")
    box.ctx.tokens.revoke(token.split("_")[1], box.wall())
    expect(page.locator("#login")).to_be_visible(timeout=10_000)
    expect(page.locator("#login-error")).to_contain_text("revoked")
    assert page.evaluate("localStorage.getItem('hems.token')") is None


def test_a_bad_token_asks_for_another(browser: object, box: Box) -> None:
    page, _ = open_page(browser, box, "hems_00000000_" + "x" * 43)
    expect = playwright_api.expect
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#login-error")).to_contain_text("not valid")
    page.fill("#token-input", box.token("display"))
    page.click("#login button")
    expect(page.locator("#now-power")).to_have_text("2.45 kW")
