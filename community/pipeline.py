"""One month of a community, start to end: read every series, check it, and bill it (or refuse).

`run_month(members, base_dir, period, ...)` → `Month`: the conformity findings always; the bills
only when no finding is an error. Reading a hems box's database is injected (``box_reader``) so
this part depends on tariffs/ alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from community.billing import CommunityBill, make_bills
from community.conformity import (
    FILLED,
    Checked,
    Finding,
    Severity,
    arbitrate,
    check_main_meter,
    clean,
    limit_for,
)
from community.members import Members, Source
from community.series import Period
from community.sources import BoxReader, Direction, SourceError, detect_format, read_source
from tariffs.series import PriceSeries
from tariffs.spot import PriceError, read_prices


@dataclass
class Month:
    members: Members
    period: Period
    checked: Checked
    bill: CommunityBill | None  #: None: refused (see ``checked.errors``)
    prices_note: str | None = None

    @property
    def refused(self) -> bool:
        return self.bill is None


def _load(
    spec: Source,
    base: Path,
    period: Period,
    direction: Direction,
    who: str,
    limit_wh: int,
    severity: Severity,
    label: str,
    box_reader: BoxReader | None,
    out: Checked,
) -> list[int | None]:
    path = Path(spec.path) if Path(spec.path).is_absolute() else base / spec.path
    try:
        raw = read_source(
            path,
            detect_format(path, spec.format),
            period,
            direction,
            channel=spec.channel,
            flow=spec.flow,
            reading=spec.reading,
            column=spec.column,
            unit=spec.unit,
            stamp=spec.stamp,
            box_reader=box_reader,
        )
    except SourceError as exc:
        out.findings.append(Finding("source", severity, who, None, len(period), f"{direction}: {exc}", label))
        return [None] * len(period)
    values, found = clean(raw, period, who, limit_wh, severity, label)
    out.findings.extend(found)
    return values


def check_month(members: Members, base: Path, period: Period, box_reader: BoxReader | None = None) -> Checked:
    """Read and check every series of the month (see `community.conformity`)."""
    out = Checked()
    rules = members.conformity
    for p in members.participant:
        for direction in ("consumption", "injection"):
            local_spec: Source | None = getattr(p, direction)
            op_spec: Source | None = getattr(p, f"{direction}_grid_operator")
            if local_spec is None and op_spec is None:
                continue
            key = (p.id, direction)
            limit = limit_for(p, direction, rules)
            local = op = None
            if local_spec is not None:
                sev: Severity = "warning" if op_spec is not None else "error"
                local = _load(
                    local_spec, base, period, direction, p.id, limit, sev, "local box", box_reader, out
                )
                out.local[key] = local
            if op_spec is not None:
                mark = len(out.findings)
                op = _load(
                    op_spec, base, period, direction, p.id, limit, "error", "grid operator", box_reader, out
                )
                out.operator[key] = op
                arbitrate(key, local, op, period, rules, out)
                if key in out.series and out.basis[key] == FILLED:  # gaps filled, as configured
                    out.findings[mark:] = [_soften(f) for f in out.findings[mark:]]
            else:
                arbitrate(key, local, None, period, rules, out)
    c = members.community
    if c.main_meter is not None:
        meters: list[tuple[Source | None, Direction]] = [
            (c.main_meter, "consumption"),
            (c.main_meter_export, "injection"),
        ]
        imports, exports = (
            None if spec is None
            else _load(spec, base, period, d, "main-meter", 10**12, "warning", "main meter", box_reader, out)
            for spec, d in meters
        )  # fmt: skip
        check_main_meter(members, period, imports or [], exports, out)
    return out


def _soften(f: Finding) -> Finding:
    if f.severity == "error" and f.check in ("gap", "dst") and f.source == "grid operator":
        return Finding(
            f.check,
            "warning",
            f.participant,
            f.slot,
            f.count,
            f.message + " (filled from the local box)",
            f.source,
        )
    return f


def load_prices(members: Members, base: Path, override: str | None) -> PriceSeries | None:
    """The price file named by ``--prices`` or ``[community] prices`` (ValueError: file, problem)."""
    name = override or members.community.prices
    if name is None:
        return None
    path = Path(name) if Path(name).is_absolute() or override else base / name
    try:
        return read_prices(path)
    except PriceError as exc:
        raise ValueError(str(exc)) from None


def run_month(
    members: Members,
    base: Path,
    period: Period,
    prices: PriceSeries | None,
    box_reader: BoxReader | None = None,
) -> Month:
    """Check the month; bill it when nothing refuses it."""
    checked = check_month(members, base, period, box_reader)
    if checked.errors:
        return Month(members, period, checked, None)
    return Month(members, period, checked, make_bills(members, period, checked, prices))
