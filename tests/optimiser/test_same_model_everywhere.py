"""The same scenario gives the same model in every process: the row and column order HiGHS sees
must not follow Python's per-process hash seed (a set-ordered index once made one example's solve
take 13 ms or 90 ms by chance, and could break ties differently in the daemon and `hems plan`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parents[2] / "examples" / "scenarios"

#: prints the rows and columns in the order pyomo hands them to HiGHS
ORDER = """
import sys
import pyomo.core as pyo
from optimiser.model import build_model
from optimiser.problem import resolve
from optimiser.scenario import load_scenario
model = build_model(resolve(load_scenario(sys.argv[1]))).model
for kind in (pyo.Var, pyo.Constraint):
    for item in model.component_data_objects(kind, active=True, descend_into=True):
        print(item.name)
"""


def _order(name: str, seed: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", ORDER, str(EXAMPLES / f"{name}.toml")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": seed},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_rows_and_columns_do_not_follow_the_hash_seed() -> None:
    for name in ("italy_3kw", "norway_winter"):
        first = _order(name, "0")
        assert "fuse_hi[L1," in first
        for seed in ("3", "5"):
            assert _order(name, seed) == first, f"{name}: seed {seed}"
