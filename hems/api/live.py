"""The live state as the API shows it: the daemon's state file, redacted, with what a person asks first.

The daemon replaces its state file atomically every cycle (`hems.daemon`); the API only reads it, so
a slow client can never hold up a cycle. `live_document` adds the ``now`` block the phone page shows
— power, what it costs per hour, how loaded the main fuse is — and strips what must never leave the
box through the API: the meter's id and type, and anything named like a contact detail or secret.
`LiveFeed` re-reads the file when it changes (a stat every quarter second) and wakes the streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

#: keys never returned at any depth: the meter's identity, contact details, secrets
REDACTED = frozenset(
    {"meter_id", "meter_type", "contact", "email", "phone", "address", "token", "password", "postcode"}
)
LINES = ("L1", "L2", "L3")


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items() if k not in REDACTED}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _num(obj: Any, key: str) -> float | None:
    v = obj.get(key) if isinstance(obj, dict) else None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def _dict(obj: Any, key: str) -> dict[str, Any]:
    v = obj.get(key) if isinstance(obj, dict) else None
    return v if isinstance(v, dict) else {}


def parse_instant(value: Any) -> datetime | None:
    """An ISO-8601 instant with an offset, or None (naive or malformed times are not trusted)."""
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo else None


def now_block(state: dict[str, Any], now: datetime | None, currency: str, stale_s: float) -> dict[str, Any]:
    """Power [W], cost per hour [currency/h], fuse load [A and share of the rating], freshness."""
    grid, pv, price, site = (
        _dict(state, "grid"),
        _dict(state, "pv"),
        _dict(state, "price"),
        _dict(state, "site"),
    )
    imp, exp = _num(grid, "p_import_w"), _num(grid, "p_export_w")
    net = None if imp is None or exp is None else imp - exp
    pv_w = _num(pv, "p_w")
    pi, pe = _num(price, "import_per_kwh"), _num(price, "export_per_kwh")
    cost = None
    if imp is not None and pi is not None:
        cost = imp / 1000 * pi - (exp or 0.0) / 1000 * (pe or 0.0)
    fuse_a = _num(site, "main_fuse_a")
    lines: list[dict[str, Any]] = []
    loads: list[float] = []
    for ln in LINES:
        amps = _num(grid, f"i_{ln.lower()}_a")
        if amps is not None:
            load = amps / fuse_a if fuse_a else None
            lines.append({"line": ln, "i_a": amps, "load": None if load is None else round(load, 4)})
            if load is not None:
                loads.append(round(load, 4))
    t = parse_instant(state.get("time"))
    age = (now - t).total_seconds() if now is not None and t is not None else None
    info = _dict(state, "circuit_info")
    circuits = []
    for cid, reading in _dict(state, "circuits").items():
        meta = _dict(info, cid)
        amps, rating = _num(reading, "i_a"), _num(meta, "breaker_a")
        circuits.append(
            {
                "id": cid,
                "name": meta.get("name") or cid,
                "p_w": _num(reading, "p_w"),
                "i_a": amps,
                "breaker_a": rating,
                "load": round(amps / rating, 4) if amps is not None and rating else None,
            }
        )
    return {
        "time": state.get("time"),
        "age_s": None if age is None else round(age, 1),
        "stale": age is not None and age > stale_s,
        "import_w": imp,
        "export_w": exp,
        "net_w": net,
        "pv_w": pv_w,
        "house_w": None if net is None else net + (pv_w or 0.0),
        "price_import_per_kwh": pi,
        "price_export_per_kwh": pe,
        "price_band": price.get("band"),
        "cost_per_hour": None if cost is None else round(cost, 4),
        "currency": currency,
        "cost_note": "energy at the running quarter-hour's price; the capacity part is not included"
        if cost is not None
        else "no price for the running quarter-hour: cost unknown",
        "fuse": {"main_fuse_a": fuse_a, "lines": lines, "max_load": max(loads) if loads else None},
        "circuits": circuits,
        "capacity": state.get("capacity") if isinstance(state.get("capacity"), dict) else None,
        "alerts": state.get("alerts") if isinstance(state.get("alerts"), list) else [],
        "missing": sorted(_dict(state, "errors")),
    }


def live_document(
    state: dict[str, Any] | None, now: datetime | None, currency: str, stale_s: float
) -> dict[str, Any]:
    if state is None:
        return {"now": None, "state": None, "note": "no live state yet: is the daemon running?"}
    clean = redact(state)
    return {"now": now_block(clean, now, currency, stale_s), "state": clean}


class LiveFeed:
    """The newest live document, re-read when the state file changes; streams wait on `changed`."""

    def __init__(
        self, path: Path, now: Callable[[], datetime], currency: str, stale_s: float, poll_s: float = 0.25
    ) -> None:
        self.path = path
        self._now = now
        self.currency = currency
        self.stale_s = stale_s
        self.poll_s = poll_s
        self.seq = 0
        self._sig: tuple[int, int] | None = None
        self._body = json.dumps(live_document(None, None, currency, stale_s)).encode()
        self._changed: asyncio.Event | None = None
        self.closing = False  #: set when the server stops: open streams end

    def refresh(self) -> None:
        """Re-read the file when it changed since the last look (a stat when it did not)."""
        try:
            st = os.stat(self.path)
            sig = (st.st_mtime_ns, st.st_size)
        except OSError:
            sig = None
        if sig == self._sig and sig is not None:
            return
        state: dict[str, Any] | None = None
        if sig is not None:
            try:
                data = json.loads(self.path.read_bytes())
                state = data if isinstance(data, dict) else None
            except (OSError, ValueError):  # replaced while reading: try again on the next look
                return
        self._sig = sig
        doc = live_document(state, self._now(), self.currency, self.stale_s)
        self._body = json.dumps(doc, separators=(",", ":")).encode()
        self.seq += 1
        if self._changed is not None:  # wake the streams waiting for this change
            self._changed.set()
            self._changed = asyncio.Event()

    @property
    def body(self) -> bytes:
        """The newest document as JSON bytes."""
        return self._body

    async def run(self) -> None:
        """Watch the file (in the API's event loop) until cancelled."""
        self._changed = asyncio.Event()
        while True:
            self.refresh()
            await asyncio.sleep(self.poll_s)

    async def wait(self, seq: int, timeout: float) -> int:
        """Wait until the document is newer than ``seq`` (or ``timeout``); returns the newest seq."""
        if self.seq != seq or self._changed is None:
            return self.seq
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)
        return self.seq
