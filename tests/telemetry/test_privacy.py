"""De-identification rules and the research side's k-check."""

from __future__ import annotations

import pytest

from hems.config import parse_config
from hems.telemetry.config import DEFAULT_CHANNELS
from hems.telemetry.privacy import (
    channel_allowed,
    deidentify_site,
    is_household_id,
    new_household_id,
    postcode_prefix,
    privacy_check,
    read_prefix_list,
)


@pytest.mark.parametrize(
    ("postcode", "prefix"), [("1081", "108x"), ("0150", "015x"), ("10 81", "108x"), (None, None)]
)
def test_postcode_is_cut_to_three_characters(postcode: str | None, prefix: str | None) -> None:
    assert postcode_prefix(postcode) == prefix


def test_a_postcode_too_short_to_cut_is_refused() -> None:
    with pytest.raises(ValueError, match="4 to 10 letters or digits"):
        postcode_prefix("108")


def test_site_facts_hold_nothing_identifying() -> None:
    cfg = parse_config({"site": {"postcode": "1081"}, "contact": {"name": "Kari", "address": "Storgata 1"}})
    facts = deidentify_site(cfg.site).to_dict()
    assert facts == {
        "postcode_prefix": "108x",
        "country": "NO",
        "timezone": "Europe/Oslo",
        "network": "TN",
        "main_fuse_a": 25.0,
    }


def test_household_ids_are_random_and_cannot_spell_a_postcode() -> None:
    ids = {new_household_id() for _ in range(200)}
    assert len(ids) == 200 and all(is_household_id(i) for i in ids)
    assert not any(c in i[2:] for i in ids for c in "0189")


def test_cumulative_registers_never_leave_whatever_the_config_says() -> None:
    assert channel_allowed("circuit.heater.p_w", DEFAULT_CHANNELS)
    assert not channel_allowed("circuit.heater.i_a", DEFAULT_CHANNELS)
    assert not channel_allowed("grid.e_import_kwh", ["*"])
    assert not channel_allowed("circuit.ev.e_import_kwh", ["circuit.*"])
    assert channel_allowed("grid.u_l1_v", ["*"])


def test_privacy_check_flags_rare_prefixes() -> None:
    prefixes = ["108x"] * 6 + ["050x"] * 2 + ["905x"]
    rare = privacy_check(prefixes, k=5)
    assert [(f.prefix, f.households) for f in rare] == [("905x", 1), ("050x", 2)]
    assert privacy_check(prefixes, k=1) == []
    with pytest.raises(ValueError):
        privacy_check(prefixes, k=0)


def test_prefix_list_accepts_plain_lines_and_csv() -> None:
    text = 'postcode_prefix,households_note\n108x,a\n\n# comment\n"050x",b\n905x\n'
    assert read_prefix_list(text) == ["108x", "050x", "905x"]
