"""The one definition of a telemetry batch (wire/telemetry.py): what the box builds passes, and
each kind of hostile document is refused with its reason (the research server uses the same)."""

from __future__ import annotations

import copy
import math
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hems.config import parse_config
from hems.storage import Storage
from hems.telemetry import deidentify_site
from hems.telemetry.batch import build_batch
from wire.errors import WireError
from wire.telemetry import RANGES, _readings, parse_batch

HID = "h-" + "c" * 26


@pytest.fixture
def batch(household_db: Path) -> dict[str, Any]:
    cfg = parse_config({"site": {"postcode": "1081", "timezone": "Europe/Oslo"}})
    with Storage.open(household_db, readonly=True) as st:
        return build_batch(
            st, date(2026, 3, 2), household_id=HID, site=deidentify_site(cfg.site), config=cfg.telemetry
        )


def test_what_the_box_builds_passes(batch: dict[str, Any]) -> None:
    parsed = parse_batch(batch)
    assert parsed.household_id == HID and parsed.slots == 96 and parsed.resolution_s == 900
    assert parsed.site["postcode_prefix"] == "108x" and not parsed.simulated
    assert parse_batch({**batch, "simulated": True}).simulated
    # the optional facts that group similar homes (a box before them still passes without them)
    site = {**batch["site"], "heating": "heat_pump", "pv": True, "ev": False}
    assert parse_batch({**batch, "site": site}).site["heating"] == "heat_pump"


def _set(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    *parents, last = path.split("/")
    target = out
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return out


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("extra", 1, "unknown key"),
        ("site/postcode_prefix", "1081", "three characters and 'x'"),
        ("site/postcode", "1081", "unknown key"),
        ("site/main_fuse_a", 1e9, "1 to 1000 A"),
        ("site/heating", "oil", "heat_pump, electric_direct, district, other"),
        ("site/pv", 1, "true or false"),
        ("site/ev", "yes", "true or false"),
        ("readings/grid.e_import_kwh", [1.0] * 96, "cumulative energy register"),
        ("readings/grid.p_import_w", [1.0] * 95, "96 values"),
        ("readings/grid.p_import_w", [float("inf")] + [1.0] * 95, "expected a number or null"),
        ("readings/grid.p_import_w", [5e9] + [1.0] * 95, "outside the physical range"),
        ("readings/circuit.7359992890123456.p_w", [1.0] * 96, "not a channel name"),
        ("software", "hems 7359992890123456", "looks like a meter id"),
        ("summary/meter", "7359992890123456", "looks like a meter id"),
        ("interval/slots", 92, "expected 96"),
        ("batch_id", "h-x/2026-03-02", "'<household_id>/<day>'"),
        ("household_id", "7359992890123456", "'h-' and 26 base32"),
        ("simulated", False, "true or absent"),
        ("schema", "hems-telemetry/2", "hems-telemetry/1"),
        ("summary", _DELETE, "missing"),
    ],
)
def test_hostile_documents_are_refused_with_their_reason(
    batch: dict[str, Any], path: str, value: Any, reason: str
) -> None:
    with pytest.raises(WireError, match=None) as refused:
        parse_batch(_set(batch, path, value))
    assert reason in str(refused.value)


def test_the_box_never_queues_a_batch_the_server_would_refuse(
    household_db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A batch that fails the wire definition (here: a channel named after a meter id, as a
    misconfigured circuit would be) is logged and not queued; the other days are."""
    from datetime import UTC, datetime

    from hems.telemetry import batch as batch_module
    from hems.telemetry.outbox import Outbox
    from hems.telemetry.upload import queue_days

    real = batch_module.build_batch

    def with_a_bad_day(storage: Any, day: date, **kw: Any) -> dict[str, Any]:
        doc = real(storage, day, **kw)
        if day == date(2026, 3, 3):
            doc["readings"]["circuit.7359992890123456.p_w"] = [0.0] * len(doc["readings"]["grid.p_import_w"])
        return doc

    monkeypatch.setattr("hems.telemetry.upload.build_batch", with_a_bad_day)
    cfg = parse_config(
        {"site": {"postcode": "1081"}, "telemetry": {"consent": True, "backfill_days": 3}}
    ).telemetry
    site = deidentify_site(parse_config({"site": {"postcode": "1081"}}).site)
    with Storage.open(household_db) as st:
        queued = queue_days(cfg, st, Outbox(st.connection), site, datetime(2026, 3, 5, 3, tzinfo=UTC))
    assert "2026-03-03" not in queued and {"2026-03-02", "2026-03-04"} <= set(queued)
    assert "not a channel name" in caplog.text


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (
            {"schema": "hems-deletion/2", "household_id": HID, "requested_at": "2026-03-02T10:00:00+00:00"},
            "hems-deletion/1",
        ),
        (
            {
                "schema": "hems-deletion/1",
                "household_id": "7359992890123456",
                "requested_at": "2026-03-02T10:00:00+00:00",
            },
            "'h-'",
        ),
        ({"schema": "hems-deletion/1", "household_id": HID, "requested_at": "2026-03-02T10:00:00"}, "offset"),
        (
            {"schema": "hems-deletion/1", "household_id": HID, "requested_at": "2030-01-01T00:00:00+00:00"},
            "past",
        ),
        (
            {
                "schema": "hems-deletion/1",
                "household_id": HID,
                "requested_at": "2026-03-02T10:00:00+00:00",
                "name": "Kari",
            },
            "unknown key",
        ),
    ],
)
def test_deletion_documents_are_checked_by_the_same_definition(doc: dict[str, Any], reason: str) -> None:
    from datetime import UTC, datetime

    from wire.telemetry import parse_deletion

    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    ok = {"schema": "hems-deletion/1", "household_id": HID, "requested_at": "2026-03-02T10:00:00+00:00"}
    assert parse_deletion(ok, now) == HID
    with pytest.raises(WireError) as refused:
        parse_deletion(doc, now)
    assert reason in str(refused.value)


_VALUE = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.booleans(),
    st.text(max_size=3),
    st.sampled_from([0.0, 230.0, 1e6, -1e6, 10**400]),
)


def _one_by_one(values: list[Any], low: float, high: float) -> list[float | None] | str:
    """The rule said value by value: the first bad value's index, or the values as floats."""
    for i, v in enumerate(values):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int | float):
            return f"[{i}]"
        if isinstance(v, float) and not math.isfinite(v):
            return f"[{i}]"
        if not low <= v <= high:
            return f"[{i}]"
    return [None if v is None else float(v) for v in values]


@settings(max_examples=400, deadline=None)
@given(st.lists(_VALUE, max_size=12), st.sampled_from(["grid.p_import_w", "grid.u_l1_v", "grid.i_l1_a"]))
def test_readings_are_checked_as_strictly_as_one_by_one(values: list[Any], channel: str) -> None:
    """The whole-list check (built-ins over a day of values) accepts exactly what a check of each
    value would, and a refusal names the first bad value, whatever the mix: null, NaN, infinities,
    integers too large for a float, booleans, strings."""
    low, high = RANGES[next(u for u in RANGES if channel.endswith(u))]
    expected = _one_by_one(values, low, high)
    try:
        got: list[float | None] | str = _readings({channel: values}, len(values))[channel]
    except WireError as exc:
        got = str(exc).removeprefix(f"batch.readings.{channel}").split(":")[0]
    assert got == expected
    if isinstance(got, list):
        assert all(v is None or type(v) is float for v in got)
