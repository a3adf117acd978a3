"""End to end: `hems demo --upload` sends its days to a real `hems research serve` over TLS (the test
CA); what the server stores is exactly `hems telemetry preview`; a batch sent again is stored once."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from research_testing import Uploader
from test_durability import free_port, serve

from research.enrol import enrol
from research.paths import DataDir
from research.store.released import released_connection

CONFIG = """
[site]
id = "demo-home"
postcode = "1081"
[tariff]
grid_company = "Elvia"
bidding_zone = "NO1"
[telemetry]
consent = true
endpoint = "{endpoint}"
token = "{token}"
ca_file = "{ca}"
[contact]
name = "Kari Nordmann"
"""


def hems(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hems", *args], capture_output=True, text=True, timeout=300)


def test_the_demo_uploads_to_the_research_server(tmp_path: Path, pki: Any) -> None:
    data = DataDir(tmp_path / "research").ensure()
    enrolled = enrol(data, "1081", now=datetime.now(UTC), name="Kari Nordmann")
    port = free_port()
    endpoint = f"https://localhost:{port}/v1"
    config = tmp_path / "household.toml"
    config.write_text(CONFIG.format(endpoint=endpoint, token=enrolled.token, ca=pki.ca_file))
    db = tmp_path / "demo.db"
    server = serve(data.root, port, pki)
    try:
        run = hems(
            "demo", "--config", str(config), "--upload", "--headless", "--quiet", "--speed", "0",
            "--stop-after", "28h", "--start", "2026-01-15", "--db", str(db),
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        preview = hems(
            "telemetry", "preview", "--config", str(config), "--db", str(db), "--date", "2026-01-15", "--json"
        )
        assert preview.returncode == 0, preview.stderr
        sent = json.loads(preview.stdout)
        hid = sent["household_id"]

        con = released_connection(data, 1)
        (summary, simulated, prefix, day) = con.execute(
            "SELECT summary, simulated, postcode_prefix, day FROM batches WHERE batch_id = ?",
            [sent["batch_id"]],
        ).fetchone()
        assert (simulated, prefix, day.isoformat()) == (True, "108x", "2026-01-15")
        assert json.loads(summary) == sent["summary"]
        rows = con.execute(
            "SELECT channel, slot, value FROM readings WHERE household_id = ? AND day = DATE '2026-01-15' "
            "ORDER BY channel, slot",
            [hid],
        ).fetchall()
        assert rows == [
            (c, i, v) for c, values in sorted(sent["readings"].items()) for i, v in enumerate(values)
        ]
        assert "Kari" not in json.dumps(con.execute("SELECT * FROM batches").fetchall(), default=str)

        answer = Uploader(endpoint, enrolled.token, pki.ca_file).send(sent)  # sent again
        assert answer.status_code == 200 and answer.json() == {"batch_id": sent["batch_id"]}
        con = released_connection(data, 1)
        assert con.execute(
            "SELECT count(*) FROM batches WHERE batch_id = ?", [sent["batch_id"]]
        ).fetchone() == (1,)
        assert con.execute("SELECT count(*) FROM readings WHERE day = DATE '2026-01-15'").fetchone() == (
            len(rows),
        )
    finally:
        server.terminate()
        server.wait(10)
