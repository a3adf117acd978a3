"""Hostile and mistaken configuration (issue 15 items 5, 6, 9): one clear line, no secret echoed,
bounds that are physical, and a postcode check/run/demo agree on."""

from __future__ import annotations

from pathlib import Path

import pytest

from hems.cli import main

SECRETS = ("s3cret-mqtt-pw", "tok-very-private", "Kari Nordmann", "Nordbyveien 12", "kari@example.org")

BASE = """
[site]
postcode = "1081"

[mqtt]
host = "localhost"
username = "hems"
password = "s3cret-mqtt-pw"

[telemetry]
consent = true
endpoint = "https://research.example.org/hems/v1"
token = "tok-very-private"

[contact]
name = "Kari Nordmann"
address = "Nordbyveien 12, 1081 Oslo"
email = "kari@example.org"

[[appliance]]
id = "ev"
kind = "energy"
"""


def _check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> str:
    path = tmp_path / "hems.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["check-config", str(path)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


def test_a_model_level_error_never_prints_secrets_or_contact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _check(tmp_path, BASE + '\n[[appliance]]\nid = "ev"\nkind = "energy"\n', capsys)
    assert "appliance ids must be unique" in line
    for secret in SECRETS:
        assert secret not in line, line


def test_a_private_value_is_not_echoed_in_a_field_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _check(tmp_path, BASE.replace('password = "s3cret-mqtt-pw"', "password = 1234567"), capsys)
    assert "mqtt.password" in line and "1234567" not in line


@pytest.mark.parametrize("postcode", ["1 08", "1-08", "  108", "108", "10811081108", "10#1"])
def test_a_postcode_telemetry_cannot_cut_is_refused_by_check_config_run_and_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postcode: str
) -> None:
    text = BASE.replace('postcode = "1081"', f'postcode = "{postcode}"')
    path = tmp_path / "hems.toml"
    path.write_text(text, encoding="utf-8")
    for argv in (
        ["check-config", str(path)],
        ["run", "--config", str(path)],
        ["demo", "--config", str(path)],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "Traceback" not in err and "site.postcode" in err and "4 to 10 letters or digits" in err


@pytest.mark.parametrize("postcode", ["1081", "SW1A 1AA", "1234 AB", "00-950"])
def test_postcodes_across_europe_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postcode: str
) -> None:
    path = tmp_path / "hems.toml"
    path.write_text(BASE.replace('postcode = "1081"', f'postcode = "{postcode}"'), encoding="utf-8")
    assert main(["check-config", str(path)]) == 0


@pytest.mark.parametrize(
    ("section", "line", "key"),
    [
        ("[storage]", "raw_days = 1e15", "storage.raw_days"),
        ("[storage]", "raw_days = 1000000000000000", "storage.raw_days"),
        ("[site]", "main_fuse_a = inf", "site.main_fuse_a"),
        ("[site]", "main_fuse_a = nan", "site.main_fuse_a"),
        ("[site]", "voltage_v = 1e300", "site.voltage_v"),
        ("[alerts]", "warn_minutes = inf", "alerts.warn_minutes"),
    ],
)
def test_bounds_are_physical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], section: str, line: str, key: str
) -> None:
    text = (
        BASE.replace("[site]\n", "[site]\n" + line + "\n")
        if section == "[site]"
        else BASE + f"\n{section}\n{line}\n"
    )
    assert key in _check(tmp_path, text, capsys)
