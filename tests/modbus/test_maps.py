"""Register maps from raw words: decoding, request planning, plausibility, and the config model."""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.modbus.config import CircuitMeterConfig
from devices.modbus.maps import (
    MAPS,
    Register,
    check_plausible,
    decode_raw,
    decode_value,
    meter_map,
    parse_blocks,
    plan_blocks,
    to_reading,
)
from devices.modbus.sim import encode_value
from hems.config import parse_config
from hems.errors import UsageError

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def test_eastron_float32_high_word_first_reads_back_the_manuals_value() -> None:
    # 230.1 V as an SDM sends it: 0x4366 0x199A (IEEE-754, most significant register first)
    assert decode_raw([0x4366, 0x199A], "float32") == 230.1
    assert decode_raw([0xC2C8, 0x0000], "float32") == -100.0
    assert decode_raw([0x199A, 0x4366], "float32", "little") == 230.1


def test_gavazzi_int32_low_word_first_with_scale() -> None:
    # EM340: 2301 x 0.1 V, words LSW then MSW; -1500 x 0.1 W (export on a line)
    assert decode_value([2301, 0], Register("u_l1_v", 0, "int32", "little", 0.1)) == 230.1
    neg = (-15000) & 0xFFFFFFFF
    assert decode_value([neg & 0xFFFF, neg >> 16], Register("p_w", 0x28, "int32", "little", 0.1)) == -1500.0
    # a value above 16 bits proves the word order: 123456 x 0.1 kWh = 0x0001_E240
    assert decode_value([0xE240, 0x0001], Register("e_import_kwh", 0x34, "int32", "little", 0.1)) == 12345.6


def test_not_available_marker_is_none_not_a_number() -> None:
    reg = Register("i_l2_a", 0x0E, "int32", "little", 0.001, None, 0x7FFFFFFF)
    assert decode_value([0xFFFF, 0x7FFF], reg) is None


def test_units_of_the_manual_become_the_fields_unit() -> None:
    assert decode_value([1500], Register("p_w", 0, "int16", "big", 1.0, "kW")) == 1_500_000.0
    assert decode_value([0, 25_000], Register("e_import_kwh", 0, "uint32", "big", 1.0, "Wh")) == 25.0
    assert decode_value([65535], Register("i_a", 0, "uint16", "big", 1.0, "mA")) == 65.535
    assert decode_value([0x0000, 0x0000, 0x0001, 0x0000], Register("e_export_kwh", 0, "uint64")) == 65536.0


def test_wrong_word_count_is_rejected() -> None:
    with pytest.raises(ValueError, match="float32 needs 2 registers, got 1"):
        decode_raw([1], "float32")


def test_eastron_maps_need_one_request_and_gavazzi_respects_its_50_register_limit() -> None:
    for model in ("sdm120", "sdm230", "sdm630", "sdm72dv2"):
        m = MAPS[model]
        blocks = plan_blocks(m.registers, m.max_registers, m.max_gap)
        assert [(b.start, b.count) for b in blocks] == [(0x0000, 0x004C)], model
    em = MAPS["em340"]
    blocks = plan_blocks(em.registers, em.max_registers, em.max_gap)
    assert len(blocks) == 2 and all(b.count <= 50 for b in blocks)
    assert {r.field for b in blocks for r in b.registers} == {r.field for r in em.registers}


def test_without_gap_spanning_each_contiguous_run_is_one_request() -> None:
    m = MAPS["sdm72d"]
    blocks = plan_blocks(m.registers, m.max_registers, m.max_gap)
    assert [(b.start, b.count) for b in blocks] == [(0x0034, 2), (0x0048, 4)]


def test_overlapping_registers_are_an_error() -> None:
    with pytest.raises(ValueError, match="overlaps"):
        plan_blocks([Register("u_v", 0), Register("i_a", 1)], 80)


def test_out_of_range_values_are_named_with_the_expected_band() -> None:
    problems = check_plausible({"u_v": 1.5e-33, "f_hz": 50.0, "pf": 3.2, "i_a": math.nan, "p_w": 0.0})
    assert problems == [
        "u_v=1.5e-33 (expected 0 or 40..500 V)",
        "pf=3.2 (expected -1.0001..1.0001)",
        "i_a=nan (expected -0.5..1000 A)",
    ]
    assert check_plausible({"u_v": 0.0, "f_hz": 49.98, "e_import_kwh": 12.5, "p_w": -200.0}) == []


def test_three_phase_totals_are_derived_when_the_meter_has_none() -> None:
    blocks = plan_blocks([Register("i_l1_a", 0), Register("i_l2_a", 2), Register("p_l1_w", 4)], 80)
    words = [[0x40A0, 0, 0x40D0, 0, 0x4490, 0x0000]]  # 5.0 A, 6.5 A, 1152.0 W
    values = parse_blocks(blocks, words)
    reading = to_reading(values, T0, phases=3)
    assert (reading.i_a, reading.p_w, reading.u_v) == (6.5, 1152.0, None)
    assert reading.i_l1_a == 5.0 and reading.time == T0


def test_custom_map_from_the_config() -> None:
    cfg = CircuitMeterConfig.model_validate(
        {
            "model": "custom",
            "host": "10.0.0.9",
            "function": "holding",
            "register": [
                {"field": "p_w", "address": 0x10, "type": "int32", "word_order": "little", "unit": "kW"},
                {"field": "u_v", "address": 0x00, "type": "uint16", "scale": 0.1},
            ],
        }
    )
    m = meter_map(cfg)
    assert m.function == "holding" and m.phases == 1
    assert [(b.start, b.count) for b in plan_blocks(m.registers, m.max_registers, m.max_gap)] == [
        (0x00, 1),
        (0x10, 2),
    ]


def _circuit(meter: dict[str, object]) -> dict[str, object]:
    meter = dict(meter)
    line = meter.pop("line", "L1")
    return {"circuit": [{"id": "kitchen", "line": line, "breaker_a": 16, "meter": meter}]}


@pytest.mark.parametrize(
    ("meter", "message"),
    [
        ({"model": "sdm120"}, "expected exactly one of host (Modbus TCP) or serial"),
        ({"model": "sdm120", "host": "h", "serial": "/dev/ttyUSB0"}, "expected exactly one of host"),
        ({"model": "custom", "host": "h"}, 'expected the register map of model "custom"'),
        (
            {"model": "sdm630", "host": "h", "register": [{"field": "p_w", "address": 0}]},
            "no register list for model 'sdm630'",
        ),
        (
            {"model": "custom", "host": "h", "register": [{"field": "p_w", "address": 0, "unit": "kWh"}]},
            "expected a unit of p_w ('W', 'kW', 'MW'), not 'kWh'",
        ),
        (
            {
                "model": "custom",
                "host": "h",
                "register": [{"field": "p_w", "address": 0}, {"field": "u_v", "address": 1}],
            },
            "registers that do not overlap; p_w (float32 at 0x0000) runs into u_v",
        ),
        ({"model": "sdm120", "serial": "/dev/ttyUSB0", "unit_id": 0}, "unit_id"),
        ({"model": "sdm120", "serial": "/dev/ttyUSB0", "baudrate": 9601}, "baudrate"),
        ({"model": "sdm999", "host": "h"}, "circuit[0].meter.model"),
        ({"model": "sdm120", "host": "h", "speed": 1}, "circuit[0].meter.speed: unknown key"),
        ({"model": "sdm120", "host": "h", "line": "3P"}, "circuit[0]: expected a three-phase meter"),
    ],
)
def test_bad_meter_config_is_one_clear_line(meter: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_config(_circuit(meter), "hems.toml")
    text = str(err.value)
    assert text.startswith("hems.toml: circuit[0]") and message in text
    assert "\n" not in text


TYPE_RANGES = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}


@given(st.sampled_from(sorted(TYPE_RANGES)), st.sampled_from(["big", "little"]), st.data())
def test_integer_words_round_trip_through_the_simulator_encoding(type_: str, order: str, data: Any) -> None:
    low, high = TYPE_RANGES[type_]
    raw = data.draw(st.integers(low, high))
    reg = Register("e_import_kwh", 0, type_, order)
    words = encode_value(float(raw), reg) if abs(raw) < 2**53 else None
    if words is not None:
        assert decode_raw(words, type_, order) == raw


@given(st.floats(-1e6, 1e6, width=32), st.sampled_from(["big", "little"]))
def test_float32_words_round_trip_to_the_shortest_decimal(value: float, order: str) -> None:
    words = encode_value(value, Register("p_w", 0, "float32", order))
    decoded = decode_raw(words, "float32", order)
    assert struct.pack(">f", decoded) == struct.pack(">f", value)
    assert len(repr(decoded)) <= len(repr(value))


def test_serial_speed_defaults_to_the_models_factory_setting() -> None:
    sdm120 = CircuitMeterConfig.model_validate({"model": "sdm120", "serial": "/dev/ttyUSB0"})
    sdm630 = CircuitMeterConfig.model_validate({"model": "sdm630", "serial": "/dev/ttyUSB0"})
    chosen = CircuitMeterConfig.model_validate(
        {"model": "sdm120", "serial": "/dev/ttyUSB0", "baudrate": 9600}
    )
    assert (sdm120.baud, sdm630.baud, chosen.baud) == (2400, 9600, 9600)
