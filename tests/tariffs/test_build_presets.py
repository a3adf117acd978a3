"""The preset builder converts fri-nettleie YAML faithfully; broken entries are named."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tariffs.build_presets import CREDIT, convert, main
from tariffs.grid import parse_company, tariff_on

YAML = """---
netteier: 'Eksempel Nett AS'
gln:
  - '7080000000000'
sist_oppdatert: 2026-01-02
kilder:
  - 'https://example.invalid/nettleie'
tariffer:
  - kundegrupper: [husholdning, fritid]
    fastledd:
      metode: TRE_DØGNMAX_MND
      terskel_inkludert: false
      terskler:
        - terskel: 5
          pris: 2400
        - terskel: 0
          pris: 1200
    energiledd:
      grunnpris: 10.5
      unntak:
        - navn: Natt
          timer: 22-5
          pris: 5.25
    gyldig_fra: 2026-01-01
"""


def test_convert_and_parse_a_company(tmp_path: Path) -> None:
    (tmp_path / "tariffer").mkdir()
    (tmp_path / "tariffer" / "eksempel.yml").write_text(YAML, encoding="utf-8")
    doc = convert(tmp_path)
    assert doc["credit"] == CREDIT
    (raw,) = doc["companies"]
    assert raw["fil"] == "eksempel" and raw["sist_oppdatert"] == "2026-01-02"
    json.dumps(doc)  # dates became text
    company = parse_company(raw)
    t = tariff_on(company, date(2026, 3, 1))
    assert t.capacity.lower == (0.0, 5.0)  # sorted
    assert t.capacity.price_per_month == (100.0, 200.0)
    assert t.capacity.price_for(5.0) == 100.0  # terskel_inkludert: false
    assert t.energy.base_price_per_kwh == pytest.approx(0.105)
    assert t.energy.bands[0].hours == frozenset([22, 23, 0, 1, 2, 3, 4, 5])


def test_broken_entries_name_file_and_tariff() -> None:
    tariff = {
        "gyldig_fra": "2026-01-01",
        "energiledd": {},
        "fastledd": {"metode": "TRE_DØGNMAX_MND", "terskler": []},
    }
    raw = {"netteier": "X", "fil": "x", "tariffer": [tariff]}
    with pytest.raises(ValueError, match=r"x: tariffer\[0\]: 'grunnpris'"):
        parse_company(raw)
    tariff["energiledd"] = {"grunnpris": 1}
    with pytest.raises(ValueError, match="terskler must start at terskel 0"):
        parse_company(raw)
    tariff["fastledd"] = {"metode": "NY_METODE", "terskler": [{"terskel": 0, "pris": 1}]}
    with pytest.raises(ValueError, match=r"unknown fastledd\.metode 'NY_METODE'"):
        parse_company(raw)


def test_main_refuses_a_directory_without_tariffs(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no tariffer"):
        main([str(tmp_path)])
    assert main([]) == 2
