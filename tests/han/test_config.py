"""The [meter] section: defaults, and one clear line for each mistake a household can make."""

from __future__ import annotations

from pathlib import Path

import pytest

from hems.config import HemsConfig, load_config
from hems.errors import UsageError


def _load(tmp_path: Path, body: str) -> HemsConfig:
    path = tmp_path / "hems.toml"
    path.write_text(body)
    return load_config(path)


def test_minimal_meter_section(tmp_path: Path) -> None:
    cfg = _load(tmp_path, '[meter]\nport = "/dev/ttyUSB0"\n')
    assert cfg.meter is not None
    assert (cfg.meter.format, cfg.meter.country, cfg.meter.id, cfg.meter.max_age_s) == (
        "auto",
        "NO",
        "grid",
        30.0,
    )


def test_keys_are_normalised(tmp_path: Path) -> None:
    cfg = _load(
        tmp_path, '[meter]\nport = "/dev/ttyUSB0"\nkey = "00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF"\n'
    )
    assert cfg.meter is not None and cfg.meter.key == "00112233445566778899AABBCCDDEEFF"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('key = "12345"', "meter.key: expected a 16-byte key as 32 hex digits"),
        ('parity = "X"', "meter.parity"),
        ("kamstrup_energy_wh = 100", "meter.kamstrup_energy_wh"),
        ('timezone = "Mars/Olympus"', "meter.timezone: expected an IANA time zone"),
        ("speed = 2400", "meter.speed: unknown key"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        _load(tmp_path, f'[meter]\nport = "/dev/ttyUSB0"\n{line}\n')
