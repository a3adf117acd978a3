"""What each viewer may see of a month, as plain data: the JSON document and the per-slot tables.

Every output (text, JSON, CSV, PNG) is made from these two functions only, so a view can never show
more than they give it (see `community.access` for the four views). Energies are exact integer Wh
(``*_wh``); money is a decimal string with two places, in the community's currency.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from community.access import Viewer
from community.billing import ParticipantBill
from community.conformity import Finding
from community.pipeline import Month

Table = tuple[list[str], list[list[Any]]]


def _money(x: Decimal | None) -> str | None:
    return None if x is None else f"{x:.2f}"


def _visible(f: Finding, v: Viewer) -> Finding | None:
    if v.role == "organiser":
        return f
    if v.role == "grid-operator":
        return (
            f
            if f.source in ("grid operator", "main meter") or f.check in ("arbitration", "main-meter")
            else None
        )
    if f.participant == v.participant:
        return f
    if f.participant == "main-meter" and f.check == "main-meter":
        if v.role == "producer":
            return f
        text = "the building's main meter disagrees with the participants' sum (details to the organiser)"
        return Finding(f.check, f.severity, f.participant, f.slot, f.count, text, f.source)
    return None


def _bill(b: ParticipantBill) -> dict[str, Any]:
    return {
        "id": b.id,
        "role": b.role,
        **b.energy_wh,
        "lines": [
            {
                "label": ln.label,
                "kwh": None if ln.kwh is None else f"{ln.kwh:.3f}",
                "price_per_kwh": None if ln.price_per_kwh is None else str(ln.price_per_kwh),
                "amount": _money(ln.amount),
            }
            for ln in b.lines
        ],
        "total": _money(b.total),
        "without_community": _money(b.without_community),
        "saving": _money(b.saving),
        "notes": list(b.notes),
    }


def _totals(m: Month) -> dict[str, Any]:
    assert m.bill is not None
    a = m.bill.allocation
    production, shared = sum(a.production), sum(sum(v) for v in a.allocated.values())
    consumption = sum(sum(v) for v in a.consumption.values())
    out = {
        "production_wh": production,
        "shared_wh": shared,
        "to_grid_wh": sum(a.to_grid),
        "consumption_wh": consumption,
        "grid_supply_wh": sum(sum(v) for v in a.grid_supply.values()),
        "self_consumption_pct": round(100 * shared / production, 1) if production else None,
        "self_sufficiency_pct": round(100 * shared / consumption, 1) if consumption else None,
    }
    if a.virtual:
        out["undistributed_wh"] = sum(a.undistributed)
    return out


def view(m: Month, v: Viewer) -> dict[str, Any]:
    """The month as ``v`` may see it (JSON-ready)."""
    c = m.members.community
    findings = [g for f in m.checked.findings if (g := _visible(f, v)) is not None]
    hidden = sum(1 for f in m.checked.errors if _visible(f, v) is None)
    doc: dict[str, Any] = {
        "community": {
            "name": c.name,
            "scheme": c.scheme,
            "key": c.allocation_key + (" (redistribute)" if c.redistribute else ""),
            "period": m.period.label,
            "timezone": m.period.tz,
            "settlement_minutes": c.slot_minutes,
            "price_per_kwh": str(c.price_per_kwh),
        },
        "view": {"role": v.role, "participant": v.participant, "open": v.open},
        "status": "refused" if m.refused else "billed",
        "conformity": {
            "errors": sum(f.severity == "error" for f in findings),
            "warnings": sum(f.severity == "warning" for f in findings),
            "errors_elsewhere": hidden,  #: errors in data this viewer may not see
            "findings": [f.to_dict(m.period) for f in findings],
        },
    }
    if m.bill is None:
        return doc
    b = m.bill
    doc["community"]["currency"] = b.currency
    if v.role == "grid-operator":
        del doc["community"]["price_per_kwh"], doc["community"]["currency"]  # no money for the grid operator
        a = b.allocation
        doc["metering_points"] = [
            {
                "id": p.id,
                "role": p.role,
                **{
                    k: b.bills[p.id].energy_wh.get(k)
                    for k in (
                        "consumption_wh",
                        "allocated_wh",
                        "grid_supply_wh",
                        "export_wh",
                        "injection_wh",
                        "surplus_wh",
                    )
                },
                "basis": {
                    d: b.basis.get((p.id, d)) for d in ("consumption", "injection") if (p.id, d) in b.basis
                },
            }
            for p in m.members.participant
        ]
        doc["exchanges"] = {
            "from_grid_wh": sum(sum(x) for x in a.grid_supply.values()),
            "to_grid_wh": sum(a.to_grid),
        }
        return doc
    if v.role in ("organiser", "producer"):
        doc["totals"] = _totals(m)
        if b.incentive is not None:
            doc["incentive"] = {
                "tip": _money(b.incentive.tip),
                "valorisation": _money(b.incentive.valorisation),
                "earmarked_55pct": _money(b.incentive.earmarked),
                "kept_by_community": _money(b.kept_by_community),
            }
        doc["notes"] = list(b.notes)
    if v.role == "organiser":
        doc["participants"] = [_bill(x) for x in b.bills.values()]
        doc["basis"] = {f"{k[0]}.{k[1]}": basis for k, basis in b.basis.items()}
    else:
        doc["bill"] = _bill(b.bills[v.participant or ""])
        if v.role == "participant":
            doc["notes"] = [n for n in b.notes if n.startswith(("TIP", "valorisation", "no zonal"))]
    return doc


def _rows(m: Month, pid: str, operator_view: bool) -> Table:
    assert m.bill is not None
    a, b = m.bill.allocation, m.bill.bills[pid]
    cols: dict[str, list[Any]] = {}
    if pid in a.consumption:
        cols |= {
            "consumption_wh": a.consumption[pid],
            "allocated_wh": a.allocated[pid],
            "grid_supply_wh": a.grid_supply[pid],
            "export_wh": a.export[pid],
        }
        if not operator_view:
            cols["shared_wh"] = a.shared[pid]
            price = m.members.community.price_per_kwh
            if not a.virtual:
                cols["shared_cost"] = [f"{Decimal(s) * price / 1000:.4f}" for s in a.shared[pid]]
            if b.grid is not None:
                cols["grid_cost"] = [
                    f"{x - y:.4f}" for x, y in zip(b.grid.import_cost, b.grid.export_revenue, strict=True)
                ]
    if pid in a.injection:
        cols |= {
            "injection_wh": a.injection[pid],
            "producer_shared_wh": a.producer_shared[pid],
            "surplus_wh": a.producer_surplus[pid],
        }
    return _table(m, cols)


def _table(m: Month, cols: dict[str, list[Any]]) -> Table:
    assert m.bill is not None
    a = m.bill.allocation
    header = ["slot_utc", "slot_local", *cols]
    rows = [
        [t.isoformat(), m.period.local(t), *(col[i] for col in cols.values())] for i, t in enumerate(a.slots)
    ]
    return header, rows


def tables(m: Month, v: Viewer) -> dict[str, Table]:
    """Per-slot tables the viewer may have, by file stem (participant id, ``community``)."""
    if m.bill is None:
        return {}
    a = m.bill.allocation
    out: dict[str, Table] = {}
    community = {
        "production_wh": a.production,
        "shared_wh": [sum(col) for col in zip(*a.allocated.values(), strict=True)],
        "to_grid_wh": a.to_grid,
    }
    if v.role == "organiser":
        out["community"] = _table(m, community)
        out |= {pid: _rows(m, pid, False) for pid in m.bill.bills}
    elif v.role == "producer":
        out["community"] = _table(m, community)
        out[v.participant or ""] = _rows(m, v.participant or "", False)
    elif v.role == "participant":
        out[v.participant or ""] = _rows(m, v.participant or "", False)
    else:
        out |= {pid: _rows(m, pid, True) for pid in m.bill.bills}
    return out


def chart_series(m: Month, v: Viewer) -> dict[str, list[int]]:
    """The three curves of the PNG, as the viewer may see them [Wh per settlement slot]."""
    if m.bill is None:
        return {}
    a = m.bill.allocation
    if v.role == "participant":
        pid = v.participant or ""
        return {"consumption": a.consumption[pid], "shared": a.shared[pid], "grid": a.grid_supply[pid]}
    shared = [sum(col) for col in zip(*a.allocated.values(), strict=True)]
    grid = [sum(col) for col in zip(*a.grid_supply.values(), strict=True)]
    return {"production": a.production, "shared": shared, "grid": grid, "to grid": a.to_grid}
