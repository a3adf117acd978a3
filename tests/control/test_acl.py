"""`hems mqtt-acl` against a real mosquitto: each appliance only reaches its own topics."""

from __future__ import annotations

import base64
import json
import queue
import subprocess
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hems.cli import main
from hems.commands.mqtt_acl import hash_password

TOML = """
[site]
id = "acl-home"

[mqtt]
username = "box"
password = "box-secret"

[[appliance]]
id = "dishwasher"
kind = "shiftable"

[[appliance]]
id = "ev"
kind = "energy"
"""
BASE = "hems/acl-home/appliance"


def test_hash_matches_mosquitto_passwd(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    subprocess.run(["/usr/bin/mosquitto_passwd", "-b", "-c", str(pw), "alice", "s3cret"], check=True)
    stored = pw.read_text().strip().split(":", 1)[1]
    _, _, iterations, salt, _ = stored.split("$")
    assert hash_password("s3cret", base64.b64decode(salt), int(iterations)) == stored


def connect_rc(port: int, user: str, password: str) -> Any:
    done = threading.Event()
    result: list[Any] = []
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{user}", protocol=mqtt.MQTTv5)
    c.username_pw_set(user, password)

    def on_connect(client: mqtt.Client, userdata: object, flags: object, rc: Any, props: object) -> None:
        result.append(rc)
        done.set()

    c.on_connect = on_connect
    c.connect("127.0.0.1", port)
    c.loop_start()
    done.wait(10)
    c.disconnect()
    c.loop_stop()
    return result[0]


def drain(peer: Any, timeout: float = 1.0) -> list[tuple[str, bytes]]:
    out = []
    try:
        while True:
            m = peer.messages.get(timeout=timeout)
            out.append((m.topic, bytes(m.payload)))
    except queue.Empty:
        return out


def test_appliance_cannot_publish_another_ones_schedule(
    tmp_path: Path, peers: Any, make_broker: Any, capsys: Any
) -> None:
    cfg = tmp_path / "hems.toml"
    cfg.write_text(TOML)
    out = tmp_path / "mqtt"
    assert main(["mqtt-acl", "--config", str(cfg), "--out", str(out)]) == 0
    assert "password_file" in capsys.readouterr().out
    creds = json.loads((out / "credentials.json").read_text())
    assert creds["box"] == "box-secret" and set(creds) == {"box", "homeassistant", "dishwasher", "ev"}
    assert (out / "passwd").stat().st_mode & 0o077 == 0
    # running again keeps the appliances' passwords
    assert main(["mqtt-acl", "--config", str(cfg), "--out", str(out)]) == 0
    assert json.loads((out / "credentials.json").read_text()) == creds

    extra = f"allow_anonymous false\npassword_file {out / 'passwd'}\nacl_file {out / 'acl'}\n"
    broker = make_broker(extra)
    assert connect_rc(broker.port, "dishwasher", "wrong").is_failure
    box = peers(
        broker.port, "box", "box", creds["box"], subscribe=[f"{BASE}/+/schedule", f"{BASE}/+/request"]
    )
    dw = peers(
        broker.port,
        "dw",
        "dishwasher",
        creds["dishwasher"],
        subscribe=[f"{BASE}/dishwasher/schedule", f"{BASE}/ev/schedule", f"{BASE}/ev/set"],
    )
    dw.publish(f"{BASE}/ev/schedule", b'{"version": 99}', retain=True)  # forged: refused
    dw.publish(f"{BASE}/dishwasher/schedule", b'{"version": 98}')  # only the box writes schedules
    dw.publish(f"{BASE}/ev/request", b'{"seq": 1}')  # not its own request topic
    dw.publish(f"{BASE}/dishwasher/request", b'{"seq": 1}')  # its own: allowed
    assert drain(box) == [(f"{BASE}/dishwasher/request", b'{"seq": 1}')]
    box.publish(f"{BASE}/dishwasher/schedule", b'{"version": 1}')
    box.publish(f"{BASE}/ev/set", b'{"action": "stop"}')
    got = drain(dw)
    assert (f"{BASE}/dishwasher/schedule", b'{"version": 1}') in got
    assert all(not t.startswith(f"{BASE}/ev/") for t, _ in got)  # cannot read the EV's topics
    assert "denied PUBLISH" in broker.log() or "Denied PUBLISH" in broker.log()


def test_bad_config_is_one_line_exit_2(tmp_path: Path, capsys: Any) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[[appliance]]\nid = "homeassistant"\nkind = "energy"\n')
    assert main(["mqtt-acl", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "clashes" in err
    assert main(["mqtt-acl", "--config", str(tmp_path / "missing.toml"), "--out", str(tmp_path)]) == 2


@pytest.mark.parametrize("user", ["box", "dishwasher"])
def test_acl_sections_name_every_user(tmp_path: Path, user: str) -> None:
    cfg = tmp_path / "hems.toml"
    cfg.write_text(TOML)
    main(["mqtt-acl", "--config", str(cfg), "--out", str(tmp_path / "o")])
    assert f"user {user}\n" in (tmp_path / "o" / "acl").read_text()


@pytest.mark.parametrize(
    "username", ["evil\\ntopic readwrite #", "a:b", "with space", "#", "x" * 65, "+", "a/b"]
)
def test_user_names_that_would_inject_acl_lines_are_refused(
    tmp_path: Path, capsys: Any, username: str
) -> None:
    cfg = tmp_path / "hems.toml"
    cfg.write_text(
        f'[mqtt]\nhost = "localhost"\nusername = "{username}"\n\n[[appliance]]\nid = "ev"\nkind = "energy"\n'
    )
    out = tmp_path / "o"
    assert main(["mqtt-acl", "--config", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "may hold only letters" in err
    assert not (out / "acl").exists() and not (out / "passwd").exists()
