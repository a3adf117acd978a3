"""Configuration errors name the file, the key and what was expected; the CLI exits 2 with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from hems.cli import main
from hems.config import load_config
from hems.errors import UsageError

GOOD = """
[site]
id = "home-1"
timezone = "Europe/Oslo"
postcode = "1081"
network = "IT"
main_fuse_a = 32

[[circuit]]
id = "kitchen"
line = "L1L2"
breaker_a = 16
curve = "C"
[circuit.meter]
model = "sdm120"
host = "127.0.0.1"
port = 5020
unit_id = 1
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "hems.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_a_good_config_loads(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.site.network == "IT"
    assert cfg.circuit[0].meter is not None and cfg.circuit[0].meter.port == 5020
    assert cfg.storage.batch_seconds == 60


def test_unknown_key_is_named_with_its_file(tmp_path: Path) -> None:
    p = write(tmp_path, GOOD.replace('curve = "C"', 'curve = "C"\nbreakr_a = 10'))
    with pytest.raises(UsageError) as err:
        load_config(p)
    assert str(err.value) == (
        f"{p}: circuit[0].breakr_a: unknown key (check its spelling; see docs/configuration.md)"
    )


def test_wrong_type_says_what_was_expected(tmp_path: Path) -> None:
    p = write(tmp_path, GOOD.replace("main_fuse_a = 32", 'main_fuse_a = "big"'))
    with pytest.raises(UsageError) as err:
        load_config(p)
    assert str(err.value) == f"{p}: site.main_fuse_a: expected a number, got 'big'"


def test_wrong_choice_lists_the_choices(tmp_path: Path) -> None:
    p = write(tmp_path, GOOD.replace('network = "IT"', 'network = "TT"'))
    with pytest.raises(UsageError) as err:
        load_config(p)
    assert str(err.value) == f"{p}: site.network: expected 'TN', 'IT' or '1P', got 'TT'"


def test_unknown_timezone(tmp_path: Path) -> None:
    p = write(tmp_path, GOOD.replace("Europe/Oslo", "Europe/Osloo"))
    with pytest.raises(UsageError, match=r"site\.timezone: .*IANA time zone.*'Europe/Osloo'"):
        load_config(p)


def test_missing_required_key(tmp_path: Path) -> None:
    p = write(tmp_path, GOOD.replace("breaker_a = 16\n", ""))
    with pytest.raises(UsageError) as err:
        load_config(p)
    assert str(err.value) == f"{p}: circuit[0].breaker_a: missing required key"


def test_duplicate_circuit_ids(tmp_path: Path) -> None:
    extra = '\n[[circuit]]\nid = "kitchen"\nline = "L2L3"\nbreaker_a = 10\n'
    with pytest.raises(UsageError, match="circuit ids must be unique, 'kitchen' appears twice"):
        load_config(write(tmp_path, GOOD + extra))


def test_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "nope.toml"
    with pytest.raises(UsageError) as err:
        load_config(p)
    assert str(err.value) == f"{p}: no such file"


def test_not_toml(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"hems\.toml: not valid TOML: "):
        load_config(write(tmp_path, "[site\nid = 1"))


def test_check_config_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, GOOD)
    assert main(["check-config", str(good)]) == 0
    assert "ok" in capsys.readouterr().out
    bad = write(tmp_path, GOOD.replace("unit_id = 1", "unit_id = 999"))
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(
        f"hems: error: {bad}: circuit[0].meter.unit_id: expected less than or equal to 247"
    )


def test_the_shipped_example_config_is_valid() -> None:
    example = Path(__file__).parents[2] / "examples" / "hems.toml"
    cfg = load_config(example)
    assert cfg.site.network == "IT" and len(cfg.circuit) == 4
    assert cfg.telemetry.consent and cfg.contact.name


def test_an_unknown_grid_company_is_caught_by_check_config_run_and_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A typo that used to pass check-config and then killed `hems run` / `hems demo` with a traceback.
    example = (Path(__file__).parents[2] / "examples" / "hems.toml").read_text(encoding="utf-8")
    bad = write(tmp_path, example.replace('"Elvia"', '"Elvai"'))
    for argv in (["check-config", str(bad)], ["run", "--config", str(bad)], ["demo", "--config", str(bad)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        assert f"{bad}: tariff.grid_company: expected a grid company" in err[0]
        assert "did you mean Elvia AS?" in err[0] and "got 'Elvai'" in err[0]


def test_check_config_checks_the_tariff_area_and_says_what_it_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    area = write(tmp_path, GOOD + '[tariff]\ngrid_company = "Tensio TN"\ngrid_area = "Midt"\n')
    assert main(["check-config", str(area)]) == 2
    err = capsys.readouterr().err.strip()
    assert "tariff.grid_area: expected an area of Tensio TN AS: Nord" in err and "\n" not in err
    good = write(tmp_path, GOOD + '[tariff]\ngrid_company = "Tensio TN"\ngrid_area = "Nord"\n')
    assert main(["check-config", str(good)]) == 0
    out = capsys.readouterr().out
    # Tensio's areas had their own tariffs until 2025; since then the whole network's applies.
    assert "tariff: Tensio TN AS, husholdning, capacity TRE_DØGNMAX_MND; strømstøtte" in out
