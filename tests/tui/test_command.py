"""`hems tui`: what it reads, and one clear line on bad input."""

from __future__ import annotations

import argparse
import io
from datetime import timedelta
from pathlib import Path

import pytest

from hems.cli import main
from hems.commands.tui import DEFAULT_STATE, resolve


def args(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(**{"config": None, "db": None, "state": None, **kw})


def test_config_gives_database_state_file_time_zone_and_staleness(tmp_path: Path) -> None:
    cfg = tmp_path / "hems.toml"
    cfg.write_text(
        f'[site]\ntimezone = "Europe/Rome"\ncycle_seconds = 5\n'
        f'[storage]\npath = "{tmp_path / "hems.db"}"\nstate_file = "{tmp_path / "run" / "state.json"}"\n'
    )
    target = resolve(args(config=str(cfg)))
    assert target.db == tmp_path / "hems.db"
    assert target.state == tmp_path / "run" / "state.json"
    assert target.timezone == "Europe/Rome" and target.stale_after == timedelta(seconds=15)
    (tmp_path / "hems.state.json").write_text("{}")  # where `hems run` writes when /run is not writable
    assert resolve(args(config=str(cfg))).state == tmp_path / "hems.state.json"
    assert resolve(args(config=str(cfg), state="/x/s.json", db="/x/h.db")).db == Path("/x/h.db")


def test_defaults_without_config() -> None:
    target = resolve(args())
    assert target.state == Path(DEFAULT_STATE) and target.db is None and target.timezone is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tui", "--db", "/nonexistent/hems.db"], "/nonexistent/hems.db: no such database"),
        (["tui", "--config", "/nonexistent/hems.toml"], "/nonexistent/hems.toml: no such file"),
        (["tui"], "needs an interactive terminal"),  # pytest's stdin is not a terminal
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO())  # not a terminal, even under `pytest -s`
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_live_state_from_the_broker_when_there_is_no_state_file(tmp_path: Path) -> None:
    cfg = tmp_path / "hems.toml"
    cfg.write_text(
        f'[storage]\npath = "{tmp_path / "hems.db"}"\nstate_file = "{tmp_path / "state.json"}"\n'
        '[mqtt]\nhost = "broker.lan"\n'
        '[[circuit]]\nid = "kitchen"\nname = "Kitchen"\nline = "L1"\nbreaker_a = 16\n'
    )
    target = resolve(args(config=str(cfg), live="auto"))
    assert target.mqtt is not None and target.mqtt.host == "broker.lan" and target.site == "home"
    assert target.static["circuit_info"]["kitchen"] == {
        "name": "Kitchen",
        "line": "L1",
        "breaker_a": 16.0,
        "curve": "C",
    }
    (tmp_path / "state.json").write_text("{}")  # the daemon is on this machine: its file wins
    assert resolve(args(config=str(cfg), live="auto")).mqtt is None
    assert resolve(args(config=str(cfg), live="mqtt")).mqtt is not None
    assert resolve(args(config=str(cfg), live="file")).mqtt is None


def test_live_mqtt_needs_an_mqtt_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "hems.toml"
    cfg.write_text("[site]\n")
    assert main(["tui", "--config", str(cfg), "--live", "mqtt"]) == 2
    assert "--live mqtt needs an [mqtt] section" in capsys.readouterr().err


def test_a_database_alone_gives_its_time_zone_and_its_circuits(tmp_path: Path) -> None:
    # `hems tui --db FILE` without --config (a copy of a box's database, the demo's): the days are
    # the household's, not the machine's, and its circuits are listed although no daemon runs.
    from datetime import UTC, datetime

    from hems.storage import SampleWriter, Storage

    db = tmp_path / "hems.db"
    st = Storage.open(db, timezone="America/New_York")
    writer = SampleWriter(st)
    values = {
        "grid.p_import_w": 1.0,
        "circuit.oven.p_w": 2.0,
        "circuit.attic.p_w": 3.0,
        "circuit.attic.i_a": 0.1,
    }
    writer.add(datetime(2026, 1, 15, 12, tzinfo=UTC), values)
    writer.close()
    st.close()
    target = resolve(args(db=str(db)))
    assert target.timezone == "America/New_York"
    assert target.circuits == (("attic", "attic"), ("oven", "oven"))
    assert target.start_date is None
    assert resolve(args(db=str(db), date="2026-01-10")).start_date.isoformat() == "2026-01-10"


def test_a_bad_start_date_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tui", "--date", "10.01.2026"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "hems: error: --date: expected a date as YYYY-MM-DD, got '10.01.2026'"
