"""`hems plan --png FILE`: the plan as a picture for the projector (matplotlib, Agg backend).

matplotlib is imported inside `write_png` only, so `hems plan` without `--png` never loads it.
Three panels over local time: import (and export) price; power stacked by consumer with PV and
grid import as lines; current on each line against the main fuse.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from optimiser.evaluate import line_currents
from optimiser.teach.session import Solved

MISSING = "--png needs matplotlib, which is not installed: python3 -m pip install matplotlib"


def matplotlib_missing() -> str | None:
    """Why ``--png`` cannot draw here (one line saying how to get matplotlib), or None."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return MISSING
    return None


def write_png(s: Solved, path: str | Path, dpi: int = 110) -> Path:
    """Draw the plan of `s` to the PNG file `path`; returns the path written."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt

    p, plan, r = s.problem, s.plan, s.result
    x = np.arange(p.n + 1) * p.h  # slot edges [h from start]
    panels = 3 if p.fuse_a is not None else 2
    fig, axes = plt.subplots(panels, 1, figsize=(11, 2.6 * panels + 1), sharex=True, layout="constrained")
    fig.suptitle(
        f"{'/'.join(Path(s.source).parts[-2:])}: cost {r['objective']:.2f} = energy {r['energy_cost']:.2f}"
        f" + capacity {r['capacity_cost']:.2f}  ({r['status']})"
    )

    def steps(values: np.ndarray) -> np.ndarray:
        return np.append(values, values[-1])

    ax = axes[0]
    ax.step(x, steps(p.import_price), where="post", color="black", label="import price")
    if np.any(p.export_price):
        ax.step(x, steps(p.export_price), where="post", color="grey", linestyle="--", label="export price")
    ax.set_ylabel("price [per kWh]")
    ax.legend(loc="upper left", fontsize="small")

    ax = axes[1]
    layers = [("base load", p.base_kw)]
    layers += [(name, np.asarray(item["power_kw"], dtype=float)) for name, item in r["appliances"].items()]
    if p.battery is not None:
        layers.append(("battery charging", plan.charge_kw))
    hatches = ["", "//", "\\\\", "xx", "..", "++", "oo", "--", "||"]
    bottom = np.zeros(p.n)
    for k, (name, values) in enumerate(layers):
        ax.bar(
            x[:-1], values, width=p.h, bottom=bottom, align="edge", label=name,
            hatch=hatches[k % len(hatches)], edgecolor="black", linewidth=0.3, alpha=0.8,
        )  # fmt: skip
        bottom = bottom + values
    if np.any(p.pv_kw):
        ax.step(x, steps(p.pv_kw), where="post", color="orange", linewidth=2, label="PV")
    imp = np.asarray(r["grid"]["import_kw"], dtype=float)
    ax.step(x, steps(imp), where="post", color="black", linewidth=1.2, label="grid import")
    exp = np.asarray(r["grid"]["export_kw"], dtype=float)
    if np.any(exp > 0):
        ax.step(
            x, steps(exp), where="post", color="black", linestyle="--", linewidth=1.2, label="grid export"
        )
    ax.set_ylabel("power [kW]")
    ax.set_ylim(0, 1.45 * max(float(bottom.max()), float(p.pv_kw.max()), float(imp.max()), 0.1))
    ax.legend(loc="upper left", fontsize="small", ncol=4)  # room above the bars (ylim)

    if p.fuse_a is not None:
        ax = axes[2]
        for style, (line, amps) in zip(["-", "--", ":"], line_currents(p, plan).items(), strict=False):
            ax.step(x, steps(amps), where="post", linestyle=style, label=line)
        ax.axhline(p.fuse_a, color="red", label=f"main fuse {p.fuse_a:g} A")
        if min(float(a.min()) for a in line_currents(p, plan).values()) < 0:
            ax.axhline(-p.fuse_a, color="red")  # PV and battery push current back: the fuse holds both ways
        lowest = min(float(a.min()) for a in line_currents(p, plan).values())
        ax.set_ylim(-1.15 * p.fuse_a if lowest < 0 else 0.0, 1.4 * p.fuse_a)
        ax.set_ylabel("current [A] (+ from the grid)")
        ax.legend(loc="upper left", fontsize="small", ncol=4)

    ticks = [t for t in range(p.n + 1) if p.time_of(t).minute == 0 and p.time_of(t).hour % 3 == 0]
    axes[-1].set_xticks([t * p.h for t in ticks], [p.time_of(t).strftime("%H:%M") for t in ticks])
    axes[-1].set_xlabel(f"local time ({p.times[0].tzinfo})")
    out = Path(path)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out
