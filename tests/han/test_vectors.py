"""Every real capture in meter_frames.json decodes to its expected values, or is rejected."""

from __future__ import annotations

import math
from typing import Any

import pytest
from han_testdata import VECTORS, payload

from devices.han.decode import DecodeOptions, parse_frame
from devices.han.dlms import Keys
from devices.han.errors import FrameError


def _options(vector: dict[str, Any]) -> DecodeOptions:
    keys = vector.get("keys")
    if not keys:
        return DecodeOptions()
    return DecodeOptions(keys=Keys.from_hex(keys["encryption_key_hex"], keys["authentication_key_hex"]))


def _same(expected: Any, got: Any) -> bool:
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return expected == got
    if isinstance(expected, int | float):
        return isinstance(got, int | float) and math.isclose(expected, got, rel_tol=1e-12, abs_tol=1e-9)
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(_same(v, got.get(k)) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(got, list) and len(got) == len(expected) and all(map(_same, expected, got))
    return expected == got


def _key(name: str) -> str:
    """``"p_import_avg_15min_w (BE current average demand)"`` -> ``"p_import_avg_15min_w"``."""
    return name.split(" ")[0]


VALID = [v for v in VECTORS if v["expected"].get("valid", True) and v["expected"].get("decryptable", True)]


@pytest.mark.parametrize("vector", VALID, ids=lambda v: v["id"])
def test_decodes_to_expected_values(vector: dict[str, Any]) -> None:
    fields = parse_frame(payload(vector), _options(vector)).fields
    wrong = {
        key: (value, fields.get(_key(key), "<missing>"))
        for key, value in vector["expected"].items()
        if not key.startswith("_") and not _same(value, fields.get(_key(key), "<missing>"))
    }
    assert wrong == {}


@pytest.mark.parametrize("vector", [v for v in VECTORS if v not in VALID], ids=lambda v: v["id"])
def test_invalid_frames_are_rejected_with_a_reason(vector: dict[str, Any]) -> None:
    with pytest.raises(FrameError) as caught:
        parse_frame(payload(vector), _options(vector))
    expected = vector["expected"]
    if expected.get("decryptable") is False:
        assert caught.value.reason == "no_key"
        assert caught.value.extra["system_title"] == vector["security"]["system_title_hex"]
    else:
        assert caught.value.reason == "crc"


def test_kamstrup_energy_scaling_follows_the_country() -> None:
    vector = next(v for v in VECTORS if v["id"] == "se-kamstrup-hourly-Wh")
    data = payload(vector)
    assert parse_frame(data).fields["e_import_kwh"] == pytest.approx(32014.158)  # guessed: SE type code
    norwegian = parse_frame(data, DecodeOptions(country="NO")).fields["e_import_kwh"]
    assert norwegian == pytest.approx(vector["expected_alt_if_norwegian_scaling"]["e_import_kwh"])
    forced = parse_frame(data, DecodeOptions(country="NO", kamstrup_energy_wh=1)).fields
    assert forced["e_import_kwh"] == pytest.approx(32014.158)


def test_encrypted_frame_with_a_wrong_key_is_rejected() -> None:
    vector = next(v for v in VECTORS if v["id"] == "at-landisgyr-e450-gcm-auth")
    good = vector["keys"]
    wrong_ak = Keys.from_hex(good["encryption_key_hex"], "00" * 16)
    with pytest.raises(FrameError) as caught:
        parse_frame(payload(vector), DecodeOptions(keys=wrong_ak))
    assert caught.value.reason == "auth"
    wrong_ek = Keys.from_hex("11" * 16)
    with pytest.raises(FrameError) as caught:
        parse_frame(payload(vector), DecodeOptions(keys=wrong_ek))
    assert caught.value.reason == "decrypt"


def test_without_authentication_key_the_frame_decrypts_unverified() -> None:
    vector = next(v for v in VECTORS if v["id"] == "at-landisgyr-e450-gcm-auth")
    keys = Keys.from_hex(vector["keys"]["encryption_key_hex"])
    fields = parse_frame(payload(vector), DecodeOptions(keys=keys)).fields
    assert fields["p_import_w"] == 29
    assert fields["security"]["authenticated"] is False


def test_it_meter_and_phase_configuration_are_reported() -> None:
    by_id = {v["id"]: v for v in VECTORS}
    aidon_it = parse_frame(payload(by_id["no-aidon-6525-list2-llc"])).fields
    assert aidon_it["network"] == "IT" and "i_l2_a" not in aidon_it
    kaifa_it = parse_frame(payload(by_id["no-kaifa-ma304h3e-list2"])).fields
    assert kaifa_it["network"] == "IT" and kaifa_it["u_l2_v"] == 0
    assert parse_frame(payload(by_id["no-kamstrup-684-hourly"])).fields["network"] == "IT"
    assert parse_frame(payload(by_id["no-kaifa-ma105h2e-1p-list2"])).fields["network"] == "1P"
    assert parse_frame(payload(by_id["no-aidon-6534-list2"])).fields["network"] == "TN"


@pytest.mark.parametrize(
    ("vector_id", "number"),
    [
        ("no-aidon-6534-list1", 1),
        ("no-aidon-6534-list2", 2),
        ("no-aidon-6534-list3", 3),
        ("no-kaifa-ma304h4-list1", 1),
        ("no-kamstrup-684-10s", 2),
        ("no-kamstrup-684-hourly", 3),
    ],
)
def test_list_number(vector_id: str, number: int) -> None:
    vector = next(v for v in VECTORS if v["id"] == vector_id)
    assert parse_frame(payload(vector)).fields["list"] == number


def test_grid_reading_conversion() -> None:
    from datetime import UTC, datetime

    by_id = {v["id"]: v for v in VECTORS}
    received = datetime(2026, 1, 5, 12, 0, 3, tzinfo=UTC)
    kaifa_it = parse_frame(payload(by_id["no-kaifa-ma304h3e-list3"])).to_grid_reading(received)
    assert kaifa_it.u_l2_v is None and kaifa_it.u_l1_v == pytest.approx(228.7)  # IT: L2 unmeasured
    assert kaifa_it.meter_clock == datetime(2020, 2, 3, 15, 0, 10, tzinfo=UTC)  # Oslo winter, UTC+1
    assert kaifa_it.time == received and kaifa_it.raw == payload(by_id["no-kaifa-ma304h3e-list3"])
    aidon = parse_frame(payload(by_id["no-aidon-6534-list3"])).to_grid_reading(received)
    assert aidon.meter_clock == datetime(2020, 7, 21, 19, 0, tzinfo=UTC)  # "UTC" label, Oslo summer time
    assert aidon.p_net_w == pytest.approx(1769.0) and aidon.list_id == "AIDON_V0001"
    p1 = parse_frame(payload(by_id["nl-dsmr50-iskra-mt382"])).to_grid_reading(received, "Europe/Amsterdam")
    assert p1.meter_clock == datetime(2017, 1, 2, 18, 20, 2, tzinfo=UTC)  # as dsmr_parser
    assert p1.e_import_kwh == pytest.approx(4.426 + 2.399) and p1.meter_id == "K8EG004046395507"
    export = parse_frame(payload(by_id["dk-landisgyr-e360-export"])).to_grid_reading(received)
    assert export.p_net_w == pytest.approx(-5.0)
