"""`hems evaluate`'s text table and its PNG (cumulative bill and daily peaks per strategy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hems.evaluate.metrics import Result
from hems.evaluate.world import World


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}".replace(",", " ")
    return str(value)


def text_table(doc: dict[str, Any]) -> str:
    """The evaluation as a table: one column per strategy."""
    period = doc["period"]
    names = list(doc["strategies"])
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, get: Any, digits: int = 2) -> None:
        rows.append((label, [_fmt(get(doc["strategies"][n]), digits) for n in names]))

    currency = next(iter(doc["strategies"].values()))["bill"]["currency"] if names else ""
    row(f"bill total [{currency}]", lambda s: s["bill"]["total"])
    row("  energy", lambda s: s["bill"]["energy"])
    row("  capacity", lambda s: s["bill"]["capacity"])
    row("  fixed", lambda s: s["bill"]["fixed"])
    row("import [kWh]", lambda s: s["import_kwh"], 1)
    row("export [kWh]", lambda s: s["export_kwh"], 1)
    row("capacity basis [kW]", lambda s: s["capacity_basis_kw"])
    row("PV self-consumption", lambda s: s["pv_self_consumption_share"], 3)
    row("appliance kWh asked", lambda s: s["appliance_kwh_requested"], 1)
    row("appliance kWh done", lambda s: s["appliance_kwh_delivered"], 1)
    row("runs asked / done", lambda s: f"{s['runs_requested']} / {s['runs_completed']}")
    row("deadlines missed", lambda s: s["deadlines_missed"])
    row("overload events", lambda s: s["overload_events"])
    first = doc["strategies"][names[0]] if names else {}
    for pump in first.get("heat_pumps", {}):

        def figure(*keys: str, pump: str = pump) -> Any:
            def get(s: dict[str, Any]) -> Any:
                value: Any = s.get("heat_pumps", {}).get(pump, {})
                for k in keys:
                    value = value.get(k) if isinstance(value, dict) else None
                return value

            return get

        row(f"{pump} [kWh]", figure("kwh"), 1)
        row(f"  at its slots' prices [{currency}]", figure("energy_cost"))
        row("  coldest tank [°C]", figure("coldest_tank_c"), 1)
        row(
            "  hours boost / block",
            lambda s, f=figure: f"{f('hours_in_state', 'boost')(s):g} / {f('hours_in_state', 'block')(s):g}",
        )
    width = max(len(label) for label, _ in rows)
    cols = [max(len(n), *(len(r[1][i]) for r in rows)) for i, n in enumerate(names)]
    head = f"{period['days']} days from {period['start']}, zone {period['zone']}, seed {period['seed']}"
    out = [
        f"hems evaluate: {head}",
        " " * width + "  " + "  ".join(n.rjust(c) for n, c in zip(names, cols, strict=True)),
    ]
    for label, values in rows:
        out.append(
            label.ljust(width) + "  " + "  ".join(v.rjust(c) for v, c in zip(values, cols, strict=True))
        )
    share = doc.get("hems_share_of_oracle_savings")
    if share is not None:
        out.append(f"hems's share of the oracle's savings over none: {share * 100:.1f} %")
    saving = doc.get("hems_saving_over_none")
    if saving is not None:
        out.append(f"hems saves {saving:.2f} {currency} over none")
    out.append(
        "bill: energy (spot, supplier markup, grid energy part, taxes, support, VAT), the capacity step "
        "and fixed fees for the share of the month(s) the period covers"
    )
    for note in doc.get("notes", []):
        out.append(f"note: {note}")
    return "\n".join(out) + "\n"


def write_png(world: World, results: dict[str, Result], path: str | Path) -> None:
    """Cumulative bill per day (energy as it accrues, capacity and fixed spread evenly) and each
    day's peak hour, one line per strategy."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    days = world.days
    fig = Figure(figsize=(10, 7), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    xs = [d.strftime("%d.%m") for d in days]
    for name, r in results.items():
        by_day = r.bill.by_day(str(world.tz))
        flat = (r.bill.capacity_cost + r.bill.fixed_cost) / len(days)
        total, cumulative = 0.0, []
        for d in days:
            total += by_day.get(d, 0.0) + flat
            cumulative.append(total)
        top.plot(xs, cumulative, label=name)
        bottom.plot(xs, r.daily_peak_kw, marker="o", markersize=3, label=name)
    top.set_ylabel(f"bill so far [{world.tariff.currency}]")
    top.set_title("Cumulative bill")
    bottom.set_ylabel("peak hour [kW]")
    bottom.set_title("Daily peak hour (the capacity step is the mean of the month's three highest)")
    for ax in (top, bottom):
        ax.legend()
        ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    fig.savefig(str(path), dpi=110)
