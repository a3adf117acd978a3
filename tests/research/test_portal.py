"""The researchers' portal in a real browser: headless Chromium (Debian's, launched by path) through
Playwright, against the real research server over HTTPS: apply → approved → log in → query →
download files whose metadata carries the licence line; a refused query says why."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow.parquet as pq
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from research_testing import Research
from test_researchers import fill

from research import accounts
from research.query.run import LICENCE

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium")


def spki_pin(cert_file: Path) -> str:
    """What Chromium's --ignore-certificate-errors-spki-list takes: base64 SHA-256 of the key's SPKI
    (this one server certificate is trusted, nothing else)."""
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@pytest.fixture
def browser(research: Research) -> Iterator[Any]:
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--ignore-certificate-errors-spki-list={spki_pin(research.pki.cert_file)}",
    ]
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        try:
            yield b
        finally:
            b.close()


def test_apply_approve_log_in_query_and_download(research: Research, browser: Any, tmp_path: Path) -> None:
    fill(research)
    base = research.server.url.removesuffix("/v1")
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    expect = playwright_api.expect

    page.goto(f"{base}/apply")
    page.fill("#name", "Ada Researcher")
    page.fill("#email", "ada@uio.no")
    page.fill("#institution", "University of Oslo")
    page.fill("#purpose", "How evening peaks differ between postcode areas")
    page.fill("#password", "correct horse battery")
    page.click("#apply")
    user_id = page.locator("#user-id").inner_text()
    assert user_id.startswith("r-")

    # not approved yet: the login is refused
    page.goto(f"{base}/login")
    page.fill("#email", "ada@uio.no")
    page.fill("#password", "correct horse battery")
    page.click("#login")
    expect(page.locator(".error")).to_contain_text("not approved")

    accounts.decide(research.data, user_id, "approved", datetime.now(UTC))
    page.goto(f"{base}/login")
    page.fill("#email", "ada@uio.no")
    page.fill("#password", "correct horse battery")
    page.click("#login")
    expect(page.locator("h1")).to_have_text("Datasets")
    expect(page.locator("#ds-readings")).to_contain_text("households")
    expect(page.locator("#ds-batches")).to_contain_text("18 of 18 days pass every check")
    expect(page.locator("#licence")).to_contain_text(LICENCE)

    with page.expect_download() as download:
        page.click("#dl-households-parquet")
    saved = tmp_path / "households.parquet"
    download.value.save_as(saved)
    table = pq.read_table(saved)
    assert table.num_rows == 9
    assert table.schema.metadata[b"licence"].decode() == LICENCE

    page.goto(f"{base}/query")
    page.fill("#sql", "SELECT postcode_prefix, households FROM prefixes ORDER BY households DESC")
    page.click("#run")
    expect(page.locator("#result")).to_contain_text("108x")
    expect(page.locator("#result")).not_to_contain_text("205x")
    with page.expect_download() as download:
        page.click("#run-csv")
    csv_file = tmp_path / "query.csv"
    download.value.save_as(csv_file)
    assert csv_file.read_text().startswith(f"# {LICENCE}\n")

    page.fill("#sql", "SELECT * FROM read_parquet('/etc/passwd')")
    page.click("#run")
    expect(page.locator(".error")).to_contain_text("table functions are not allowed")

    page.goto(f"{base}/account")
    page.click("#new-key")
    key = page.locator("#api-key").inner_text()
    assert accounts.researcher_from_api_key(research.data, key) is not None

    origin = urlsplit(base).netloc
    assert all(urlsplit(u).netloc == origin for u in asked if not u.startswith("data:"))
    whats = [row["what"] for row in accounts.access_log(research.data, user_id)]
    assert {"datasets", "download", "query", "api key"} <= set(whats)
