"""A small energy community on disk: quarter-hour CSVs, a members file, keys (imported by the tests)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from community.access import hash_key
from community.series import Period

TZ = "Europe/Paris"
FLAT = "tariff = { spot = false, base_price_per_kwh = 0.20, vat_rate = 0.2 }"  # 0.24 EUR/kWh all-in
KEYS = {
    "a": "key-of-a",
    "b": "key-of-b",
    "c": "key-of-c",
    "roof": "key-of-roof",
    "dso": "key-of-dso",
    "org": "key-of-organiser",
}
HASHES = {k: hash_key(v, salt=k.encode().ljust(16, b"-")) for k, v in KEYS.items()}


def write_csv(
    path: Path,
    slots: Sequence[datetime],
    values: Sequence[int | str],
    *,
    naive_tz: str | None = None,
    header: str = "start,wh",
) -> Path:
    """One ``time,value`` row per slot; ``naive_tz``: local wall-clock times without an offset."""
    lines = [header]
    for t, v in zip(slots, values, strict=True):
        stamp = t.astimezone(ZoneInfo(naive_tz)).strftime("%Y-%m-%dT%H:%M:%S") if naive_tz else t.isoformat()
        lines.append(f"{stamp},{v}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def by_local_hour(period: Period, table: dict[tuple[int, int], int], default: int = 0) -> list[int]:
    """A value per slot from ``{(local hour, minute): Wh}``."""
    zone = ZoneInfo(period.tz)
    return [table.get((t.astimezone(zone).hour, t.astimezone(zone).minute), default) for t in period.slots]


#: the hand-checked day (docs/community.md): consumption per quarter-hour a 300, b 200, c 100 Wh;
#: the roof produces 300 Wh at 10:00, 1000 Wh at 12:00 and 401 Wh at 14:00 (local), else nothing
DAY_PRODUCTION = {(10, 0): 300, (12, 0): 1000, (14, 0): 401}
DAY_CONSUMPTION = {"a": 300, "b": 200, "c": 100}


class Community:
    """Writes a members file and its series under ``root``."""

    def __init__(self, root: Path, period: str = "2025-06", tz: str = TZ) -> None:
        self.root = root
        self.period = Period.month(period, tz)
        self.community: dict[str, Any] = {
            "name": "Rooftop",
            "scheme": "fr",
            "price_per_kwh": 0.12,
            "surplus_price_per_kwh": 0.04,
        }
        self.participants: list[str] = []
        self.extra: list[str] = []

    def series(self, name: str, values: Sequence[int | str], **kw: Any) -> str:
        write_csv(self.root / name, self.period.slots, values, **kw)
        return name

    def consumer(self, pid: str, values: Sequence[int] | int, extra: str = "", tariff: str = FLAT) -> None:
        vals = [values] * len(self.period) if isinstance(values, int) else values
        self.series(f"{pid}.csv", vals)
        self.participants.append(
            f'[[participant]]\nid = "{pid}"\nrole = "consumer"\nconsumption = "{pid}.csv"\n'
            f'key_hash = "{HASHES.get(pid, HASHES["a"])}"\n{tariff}\n{extra}'
        )

    def producer(self, pid: str, values: Sequence[int], extra: str = "") -> None:
        self.series(f"{pid}.csv", values)
        self.participants.append(
            f'[[participant]]\nid = "{pid}"\nrole = "producer"\ninjection = "{pid}.csv"\n'
            f'key_hash = "{HASHES.get(pid, HASHES["roof"])}"\n{extra}'
        )

    def day_fixture(self, key: str | None = None, **community: Any) -> None:
        """The hand-checked three-participant day, every day of the month."""
        for pid, wh in DAY_CONSUMPTION.items():
            self.consumer(pid, wh)
        self.producer("roof", by_local_hour(self.period, DAY_PRODUCTION))
        if key:
            self.community["key"] = key
        self.community.update(community)

    def write(self) -> Path:
        def value(v: Any) -> str:
            return json.dumps(v) if not isinstance(v, bool) else str(v).lower()

        head = "[community]\n" + "".join(f"{k} = {value(v)}\n" for k, v in self.community.items())
        head += f'organiser_key_hash = "{HASHES["org"]}"\n' if "organiser" in self.extra else ""
        grid = f'\n[grid_operator]\nkey_hash = "{HASHES["dso"]}"\n'
        body = "\n".join(self.participants)
        rest = "\n".join(x for x in self.extra if x != "organiser")
        path = self.root / "members.toml"
        path.write_text(head + grid + "\n" + body + "\n" + rest + "\n", encoding="utf-8")
        return path


Runner = Callable[..., tuple[int, str, str]]


def bill(hems: Runner, members: Path, *extra: str, period: str = "2025-06", key: str | None = None) -> Any:
    """``hems community bill --members MEMBERS --period PERIOD EXTRA...`` → (status, out, err)."""
    return hems("community", "bill", "--members", str(members), "--period", period, *extra, key=key)


def bill_json(
    hems: Runner, members: Path, period: str = "2025-06", *extra: str, key: str | None = None
) -> Any:
    status, out, err = bill(hems, members, "--json", *extra, period=period, key=key)
    assert status in (0, 3), err
    return json.loads(out)
