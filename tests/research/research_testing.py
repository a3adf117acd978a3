"""Helpers for the research server's tests: households' batches as a box builds them, uploads, scans."""

from __future__ import annotations

import gzip
import json
import secrets
import ssl
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

OSLO = ZoneInfo("Europe/Oslo")
ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def household_id() -> str:
    return "h-" + "".join(secrets.choice(ALPHABET) for _ in range(26))


def local_day(day: date) -> tuple[datetime, datetime]:
    nxt = day + timedelta(days=1)
    return (
        datetime(day.year, day.month, day.day, tzinfo=OSLO).astimezone(UTC),
        datetime(nxt.year, nxt.month, nxt.day, tzinfo=OSLO).astimezone(UTC),
    )


def readings(slots: int, seed: float, resolution_s: int) -> dict[str, list[float | None]]:
    """Import, PV and two circuits [W]; ``seed`` shifts every value so a household's values are its own."""
    out: dict[str, list[float | None]] = {"grid.p_import_w": [], "grid.p_export_w": [], "pv.p_w": []}
    out["circuit.heater.p_w"], out["circuit.kitchen.p_w"] = [], []
    for i in range(slots):
        hour = (i * resolution_s / 3600.0) % 24
        heater = 1500.0 + seed if hour < 6 else 200.0 + seed
        kitchen = 800.0 + (i % 7) if 17 <= hour < 19 else 60.0 + (i % 5)
        pv = 900.0 if 10 <= hour < 14 else 0.0
        net = heater + kitchen + 100.0 - pv
        out["grid.p_import_w"].append(round(max(net, 0.0), 1))
        out["grid.p_export_w"].append(round(max(-net, 0.0), 1))
        out["pv.p_w"].append(pv)
        out["circuit.heater.p_w"].append(round(heater, 1))
        out["circuit.kitchen.p_w"].append(round(kitchen, 1))
    return out


def batch(
    hid: str, day: date, *, prefix: str = "108x", seed: float = 0.0, resolution_s: int = 900
) -> dict[str, Any]:
    """A batch as docs/telemetry.md defines it, with a summary that agrees with its readings."""
    start, end = local_day(day)
    slots = int((end - start).total_seconds()) // resolution_s
    values = readings(slots, seed, resolution_s)
    hours = resolution_s / 3600.0
    import_kwh = round(sum(v or 0.0 for v in values["grid.p_import_w"]) * hours / 1000, 4)
    export_kwh = round(sum(v or 0.0 for v in values["grid.p_export_w"]) * hours / 1000, 4)
    return {
        "schema": "hems-telemetry/1",
        "batch_id": f"{hid}/{day.isoformat()}",
        "household_id": hid,
        "day": day.isoformat(),
        "site": {
            "postcode_prefix": prefix,
            "country": "NO",
            "timezone": "Europe/Oslo",
            "network": "TN",
            "main_fuse_a": 25.0,
        },
        "interval": {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "resolution_minutes": resolution_s // 60,
            "slots": slots,
        },
        "readings": values,
        "summary": {"coverage": 1.0, "house": {"import_kwh": import_kwh, "export_kwh": export_kwh}},
        "software": "hems 0.1.0",
    }


def gz(document: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps(document, separators=(",", ":")).encode())


@dataclass
class Uploader:
    """A box's side of the transport, over httpx, trusting the test CA."""

    url: str  #: https://localhost:PORT/v1
    token: str
    ca_file: Path

    def client(self) -> httpx.Client:
        return httpx.Client(verify=ssl.create_default_context(cafile=str(self.ca_file)), timeout=30.0)

    def send(
        self, document: dict[str, Any], *, key: str | None = None, token: str | None = None
    ) -> httpx.Response:
        with self.client() as c:
            return c.post(
                self.url + "/batches",
                content=gz(document),
                headers={
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                    "Authorization": f"Bearer {token or self.token}",
                    "Idempotency-Key": key or document["batch_id"],
                },
            )

    def delete(self, hid: str, *, token: str | None = None) -> httpx.Response:
        doc = {
            "schema": "hems-deletion/1",
            "household_id": hid,
            "requested_at": datetime.now(UTC).isoformat(),
        }
        with self.client() as c:
            return c.post(
                self.url + "/deletions",
                content=gz(doc),
                headers={
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                    "Authorization": f"Bearer {token or self.token}",
                    "Idempotency-Key": f"deletion:{hid}",
                },
            )


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def bytes_hold(root: Path, needle: bytes) -> list[Path]:
    """Files under ``root`` whose bytes contain ``needle``."""
    return [p for p in files_under(root) if needle in p.read_bytes()]
