"""The planner's limits under bad input (issue 15 item 8): one clear line for NaN, infinities and
absurd numbers, a bad --gap or --lp, and a time limit that bounds the whole run."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hems.cli import main
from tests.optimiser.test_cli import GOOD


def _plan(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str]:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    code = main(["plan", str(path), *flags])
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") <= 1, err
    return code, err


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (
            "base_load_kw = [0.5, 0.5, 0.5, 0.5]",
            "base_load_kw = [0.5, nan, 0.5, 0.5]",
            "series.base_load_kw[1]",
        ),
        ("[3.0, 1.0, 2.0, 5.0]", "[3.0, 1.0, nan, 5.0]", "series.import_price_per_kwh[2]"),
        ("[3.0, 1.0, 2.0, 5.0]", "[3.0, inf, 2.0, 5.0]", "series.import_price_per_kwh[1]"),
        ("[3.0, 1.0, 2.0, 5.0]", "[1e300, 1.0, 2.0, 5.0]", "series.import_price_per_kwh[0]"),
        ("main_fuse_a = 25", "main_fuse_a = inf", "site.main_fuse_a"),
    ],
)
def test_non_finite_and_absurd_numbers_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, key: str
) -> None:
    code, err = _plan(tmp_path, GOOD.replace(old, new), capsys)
    assert code == 2 and key in err


@pytest.mark.parametrize(
    ("flag", "value"), [("--gap", "nan"), ("--gap", "inf"), ("--time-limit", "nan"), ("--time-limit", "inf")]
)
def test_bad_gap_and_time_limit_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    code, err = _plan(tmp_path, GOOD, capsys, flag, value)
    assert code == 2 and flag in err


def test_an_unwritable_lp_path_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _plan(tmp_path, GOOD, capsys, "--lp", str(tmp_path / "no" / "such" / "dir" / "m.lp"))
    assert code == 1 and "cannot write the LP file" in err


def _many(n: int) -> str:
    apps = "".join(
        f'\n[[appliance]]\nid = "a{i}"\nkind = "shiftable"\nprofile_kw = [1.0, 0.5]\n'
        'earliest_start = "2026-01-15T00:00:00+01:00"\n'
        'latest_end = "2026-01-15T04:00:00+01:00"\nline = "L1"\n'
        for i in range(n)
    )
    return GOOD.split("[[appliance]]")[0] + apps


def test_the_time_limit_bounds_building_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    code, err = _plan(tmp_path, _many(3000), capsys, "--time-limit", "1", "--json")
    # the limit bounds the run: either a plan within it or one line saying the build took it all
    assert code in (0, 1)
    if code == 1:
        assert "time limit of 1" in err
    assert time.monotonic() - started < 60  # it took 83 s before


def test_a_model_too_large_to_build_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _many(1).replace("slots = 4", "slots = 3000").replace("slot_minutes = 60", "slot_minutes = 15")
    text = text.replace("[3.0, 1.0, 2.0, 5.0]", str([1.0] * 3000)).replace(
        "[0.5, 0.5, 0.5, 0.5]", str([0.5] * 3000)
    )
    text = text.replace(
        'latest_end = "2026-01-15T04:00:00+01:00"', 'latest_end = "2026-02-15T00:00:00+01:00"'
    )
    text = text.replace("profile_kw = [1.0, 0.5]", f"profile_kw = {[1.0] * 700}")
    code, err = _plan(tmp_path, text, capsys)
    assert code == 1 and "more than the planner builds" in err
