"""Conformity before any bill: is every series complete, single-valued, physical and consistent?

Checks, each finding naming its participant and slot (the first of a run of slots):

- ``source``: a file that cannot be read; ``format``: a line or reading that is not a quarter-hour
  value (not a number, not on the quarter-hour grid, hourly data);
- ``duplicate``: a slot given twice (same value: counted once, a warning; different values: error);
- ``gap``: slots of the month without a value;
- ``dst``: a local day whose number of quarter-hours is not its length (92 in spring, 100 in
  autumn), a wall-clock time that does not exist, an ESPI day block of the wrong length;
- ``negative`` and ``impossible``: below zero, or above the connection (``max_power_kw``) or the
  plant (``peak_kw``/``plant_kw``) for a quarter-hour;
- ``main-meter``: the building's main meter vs the participants behind it (net import = their
  consumption − their injection), beyond the tolerance;
- ``arbitration``: the local box vs the grid operator's data for the same meter. **The grid
  operator's figure bills**; every difference beyond the tolerance is reported to the participant
  and to the grid operator. Where the grid operator has no value the bill is refused, or with
  ``fill_gaps_from_local`` the local figure bills and the finding says so.

Errors refuse the bill; warnings are shown with it. Problems of a local series that the grid
operator's data replaces are warnings. Tolerance: a difference counts when it exceeds both
``tolerance_wh`` and ``tolerance_pct`` of the larger figure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from community.members import Conformity, Members, Participant
from community.series import SLOT, Period, RawSeries

Severity = Literal["error", "warning"]
SeriesKey = tuple[str, str]  #: (participant id, "consumption" | "injection")
OPERATOR = "the grid operator's figures"  #: what bills, by the arbitration rule
OWN = "its own series (no grid operator data)"
FILLED = "the grid operator's figures, the local box's where it had none"


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    participant: str | None  #: a participant id, "main-meter", or None (the community)
    slot: datetime | None  #: first slot concerned (UTC)
    count: int  #: slots concerned (a run from ``slot``)
    message: str
    source: str | None = None  #: "local box" | "grid operator" | a file

    def to_dict(self, period: Period) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "participant": self.participant,
            "slot_utc": self.slot.isoformat() if self.slot else None,
            "slot_local": period.local(self.slot) if self.slot else None,
            "slots": self.count,
            "source": self.source,
            "message": self.message,
        }


@dataclass
class Checked:
    """The findings, and for each series the values that bill (complete series only)."""

    findings: list[Finding] = field(default_factory=list)
    series: dict[SeriesKey, list[int]] = field(default_factory=dict)
    basis: dict[SeriesKey, str] = field(default_factory=dict)  #: which data bills
    local: dict[SeriesKey, list[int | None]] = field(default_factory=dict)
    operator: dict[SeriesKey, list[int | None]] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """(first index, length) of each run of True."""
    out, start = [], None
    for i, f in enumerate([*flags, False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            out.append((start, i - start))
            start = None
    return out


def exceeds(a: int, b: int, rules: Conformity) -> bool:
    """Whether two figures [Wh] differ by more than the tolerance."""
    diff = abs(a - b)
    return diff > rules.tolerance_wh and diff * 100 > rules.tolerance_pct * max(abs(a), abs(b))


def clean(
    raw: RawSeries, period: Period, who: str, limit_wh: int, severity: Severity, label: str
) -> tuple[list[int | None], list[Finding]]:
    """One source's values on the period's slots (None = no usable value) and its findings."""
    found: list[Finding] = []

    def add(
        check: str, slot: datetime | None, message: str, count: int = 1, sev: Severity = severity
    ) -> None:
        found.append(Finding(check, sev, who, slot, count, message, label))

    for slot, check, text in raw.problems:
        add(check, slot, text)
    by_slot: dict[int, list[Any]] = defaultdict(list)
    for r in raw.readings:
        i = period.index(r.slot)
        if i is not None:
            by_slot[i].append(r)
    values: list[int | None] = [None] * len(period)
    for i, rs in sorted(by_slot.items()):
        slot = period.slots[i]
        if len({r.wh for r in rs}) > 1:
            listed = ", ".join(f"{r.wh} Wh at {r.where}" for r in rs)
            add(
                "duplicate",
                slot,
                f"{period.local(slot)} given {len(rs)} times with different values: {listed}",
            )
            continue
        if len(rs) > 1:
            add(
                "duplicate",
                slot,
                f"{period.local(slot)} given {len(rs)} times ({rs[0].where}, {rs[1].where}); "
                "same value, counted once",
                sev="warning",
            )
        wh = rs[0].wh
        if wh < 0:
            add(
                "negative",
                slot,
                f"{period.local(slot)}: {wh} Wh at {rs[0].where}; energies are never negative",
            )
            continue
        if wh > limit_wh:
            add(
                "impossible",
                slot,
                f"{period.local(slot)}: {wh} Wh at {rs[0].where} is more than the "
                f"{limit_wh} Wh a quarter-hour allows ({limit_wh * 4 / 1000:g} kW)",
            )
            continue
        values[i] = wh
    have = [i in by_slot for i in range(len(period))]
    for first, n in _runs([not h for h in have]):
        end = period.slots[first] + SLOT * n
        add(
            "gap",
            period.slots[first],
            f"no value from {period.local(period.slots[first])} to "
            f"{period.local(end)} ({n} quarter-hour{'s' if n > 1 else ''})",
            n,
        )
    for day, first, n in period.days():
        got = sum(have[first : first + n])
        if n != 96 and got != n:
            kind = "clocks go forward: 92" if n == 92 else "clocks go back: 100"
            add("dst", period.slots[first], f"{day} has {got} quarter-hours, the day has {n} ({kind})", n)
    return values, found


def limit_for(p: Participant, direction: str, rules: Conformity) -> int:
    """The most a quarter-hour can hold for this participant and direction [Wh], with the
    percentage tolerance on top (meters and inverters are not exact)."""
    kw = p.max_power_kw if direction == "consumption" else (p.peak_kw or p.plant_kw)
    kw = kw or rules.max_power_kw
    return int(Decimal(str(kw)) * 250 * (1 + rules.tolerance_pct / 100))


def _arbitration(pid: str, slot: datetime, n: int, text: str) -> Finding:
    """A difference or a filled gap between the box and the grid operator: reported to both."""
    return Finding("arbitration", "warning", pid, slot, n, text, "grid operator")


def arbitrate(
    key: SeriesKey,
    local: list[int | None] | None,
    operator: list[int | None] | None,
    period: Period,
    rules: Conformity,
    out: Checked,
) -> None:
    """The figure that bills for each slot of one series, and the differences to report."""
    pid, direction = key
    if operator is None:
        values, basis = local or [None] * len(period), OWN
    else:
        values, basis = list(operator), OPERATOR
        filled = [v is None and local is not None and local[i] is not None for i, v in enumerate(operator)]
        if local is not None and rules.fill_gaps_from_local:
            for first, n in _runs(filled):
                for i in range(first, first + n):
                    values[i] = local[i]
                text = (
                    f"{direction}: the grid operator has no value for {n} quarter-hour(s); "
                    "the local box's figure bills there (fill_gaps_from_local)"
                )
                out.findings.append(_arbitration(pid, period.slots[first], n, text))
            if any(filled):
                basis = FILLED
        if local is not None:
            differ = [
                a is not None and b is not None and exceeds(a, b, rules)
                for a, b in zip(local, operator, strict=True)
            ]
            for first, n in _runs(differ):
                lo = sum(local[i] or 0 for i in range(first, first + n))
                op = sum(operator[i] or 0 for i in range(first, first + n))
                text = (
                    f"{direction}: local box {lo} Wh, grid operator {op} Wh over {n} quarter-hour(s) "
                    f"(difference {lo - op:+d} Wh); the grid operator's figure bills"
                )
                out.findings.append(_arbitration(pid, period.slots[first], n, text))
    if all(v is not None for v in values):
        out.series[key] = [int(v or 0) for v in values]
        out.basis[key] = basis


def check_main_meter(
    members: Members,
    period: Period,
    imports: list[int | None],
    exports: list[int | None] | None,
    out: Checked,
) -> None:
    """The main meter's net import vs consumption − injection of the participants behind it."""
    rules = members.conformity
    behind = [p for p in members.participant if p.behind_main_meter]
    keys = [((p.id, "consumption"), 1) for p in behind if p.consumes]
    keys += [((p.id, "injection"), -1) for p in behind if p.injects]
    if any(k not in out.series for k, _ in keys):
        out.findings.append(
            Finding(
                "main-meter",
                "warning",
                "main-meter",
                None,
                0,
                "the main-meter check is skipped: not every participant's series is complete",
            )
        )
        return
    severity: Severity = "error" if rules.main_meter == "refuse" else "warning"
    expected = [sum(sign * out.series[k][i] for k, sign in keys) for i in range(len(period))]
    exported = exports if exports is not None else [0] * len(period)
    measured = [None if a is None or b is None else a - b for a, b in zip(imports, exported, strict=True)]
    differ = [m is not None and exceeds(m, e, rules) for m, e in zip(measured, expected, strict=True)]
    for first, n in _runs(differ):
        m = sum(measured[i] or 0 for i in range(first, first + n))
        e = sum(expected[i] for i in range(first, first + n))
        out.findings.append(
            Finding(
                "main-meter",
                severity,
                "main-meter",
                period.slots[first],
                n,
                f"main meter net import {m} Wh, participants' sum {e} Wh over {n} quarter-hour(s) "
                f"(difference {m - e:+d} Wh): a participant missing, a meter wrong, or a leak",
                "main meter",
            )
        )
