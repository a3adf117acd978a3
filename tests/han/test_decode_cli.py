"""The `hems decode` contract: inputs, JSON Lines in input order, error objects, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from han_testdata import VECTORS, payload

from hems.cli import main

BY_ID = {v["id"]: v for v in VECTORS}
AIDON_LIST2 = BY_ID["no-aidon-6534-list2"]["hex"]
KAMSTRUP_BAD = BY_ID["neg-kamstrup-bad-fcs"]["hex"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, Any]], str]:
    code = main(["decode", *argv])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_hex_frames_in_order_with_errors_as_objects(capsys: pytest.CaptureFixture[str]) -> None:
    code, rows, _ = _run(capsys, "--hex", AIDON_LIST2, "--hex", KAMSTRUP_BAD, "--hex", AIDON_LIST2[:60])
    assert code == 0
    assert rows[0]["p_import_w"] == 6942 and rows[0]["meter_id"] == "7359992895913195"
    assert rows[1]["error"] == "crc" and "FCS" in rows[1]["detail"]
    assert rows[2]["error"] == "truncated"
    assert [r["input"] for r in rows] == ["hex:1", "hex:2", "hex:3"]


def test_hex_file_one_frame_per_line_all_vectors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    lines = ["# every capture of meter_frames.json"] + [payload(v).hex() for v in VECTORS]
    path = tmp_path / "frames.hex"
    path.write_text("\n".join(lines) + "\n")
    code, rows, _ = _run(capsys, str(path))
    assert code == 0 and len(rows) == len(VECTORS)
    for vector, row in zip(VECTORS, rows, strict=True):
        valid = vector["expected"].get("valid", True) and not vector["encrypted"]
        assert ("error" not in row) == valid, vector["id"]
        if "p_import_w" in vector["expected"] and valid:
            assert row["p_import_w"] == pytest.approx(vector["expected"]["p_import_w"])


def test_keys_decrypt_the_published_frame(capsys: pytest.CaptureFixture[str]) -> None:
    vector = BY_ID["at-landisgyr-e450-gcm-auth"]
    keys = vector["keys"]
    code, rows, _ = _run(
        capsys, "--key", keys["encryption_key_hex"], "--auth-key", keys["authentication_key_hex"],
        "--hex", vector["hex"], "--hex", BY_ID["dk-kamstrup-gcm-nokey"]["hex"],
    )  # fmt: skip
    assert code == 0
    assert rows[0]["meter_id"] == "30137181" and rows[0]["security"]["authenticated"] is True
    assert rows[1]["error"] == "auth"  # another meter's frame: the key does not fit
    code, rows, _ = _run(capsys, "--hex", vector["hex"])
    assert rows[0]["error"] == "no_key" and rows[0]["system_title"] == "4c475a6772a9a111"


def test_raw_capture_from_stdin(tmp_path: Path) -> None:
    frames = [
        payload(BY_ID[i]) for i in ("no-kaifa-ma304h4-list2", "neg-kaifa-bad-fcs", "no-aidon-6534-list3")
    ]
    capture = frames[0][40:] + b"\x00junk\x7e\x7e" + b"\x7e".join(frames) + b"\xff" + frames[0][:50]
    done = subprocess.run(
        [sys.executable, "-m", "hems", "decode", "-"], input=capture, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r.get("error") for r in rows] == [None, "crc", None, "truncated"]
    assert rows[0]["meter_type"] == "MA304H4" and rows[2]["e_import_kwh"] == pytest.approx(94064.59)
    assert rows[0]["offset"] < rows[1]["offset"] < rows[2]["offset"] < rows[3]["offset"]


def test_p1_telegrams_as_a_text_capture(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ids = ("nl-dsmr50-iskra-am550-real", "be-fluvius-v171", "nl-dsmr22-kamstrup-kmp5")
    path = tmp_path / "p1.txt"
    path.write_bytes(b"".join(payload(BY_ID[i]) for i in ids))
    code, rows, _ = _run(capsys, "--format", "p1", str(path))
    assert code == 0 and [r["format"] for r in rows] == ["p1"] * 3
    assert rows[1]["p_import_avg_15min_w"] == pytest.approx(2351.0)
    assert rows[2]["e_import_t1_kwh"] == pytest.approx(5080.475)


def test_format_filter(capsys: pytest.CaptureFixture[str]) -> None:
    telegram = payload(BY_ID["se-kamstrup-kam5"]).hex()
    _code, rows, _ = _run(capsys, "--format", "han", "--hex", telegram, "--hex", AIDON_LIST2)
    assert rows[0]["error"] == "unsupported" and rows[1]["format"] == "han"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["/no/such/file"], "cannot read /no/such/file"),
        (["--hex", "7ea0zz"], "not hex"),
        (["--key", "1234", "--hex", AIDON_LIST2], "encryption key: expected a 16-byte key"),
        (["--auth-key", "00" * 16, "--hex", AIDON_LIST2], "needs --key"),
    ],
)
def test_unreadable_input_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, rows, err = _run(capsys, *argv)
    assert code == 2 and rows == []
    assert message in err and "Traceback" not in err


def test_text_file_that_is_not_hex_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "frames.hex"
    path.write_text(AIDON_LIST2 + "\nhello meter\n")
    code, _rows, err = _run(capsys, str(path))
    assert code == 2 and "line 2" in err


def test_plain_frames_never_import_cryptography() -> None:
    code = (
        "import sys; from hems.cli import main; "
        f"main(['decode', '--hex', '{AIDON_LIST2}', '--hex', '{BY_ID['dk-kamstrup-gcm-nokey']['hex']}']); "
        "assert 'cryptography' not in sys.modules, 'cryptography imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert '"no_key"' in done.stdout
