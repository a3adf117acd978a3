"""The API as the box runs it: HTTPS with its own certificate, the `hems api` commands, and the
daemon (`hems demo`) serving it while it cycles; FastAPI stays out of a daemon without [api]."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import socket
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, start_box

from hems.api.tls import fingerprint
from hems.cli import main
from hems.config import parse_config
from hems.errors import UsageError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_https_with_the_boxs_own_certificate(tmp_path: Path, household_db: Path) -> None:
    api_dir = tmp_path / "api"
    box = start_box(tmp_path, household_db, {"host": "127.0.0.1", "port": 0, "dir": str(api_dir)})
    try:
        assert box.url.startswith("https://")
        key = api_dir / "tls.key"
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
        ctx = ssl.create_default_context(cafile=str(api_dir / "tls.crt"))
        with httpx.Client(
            base_url=box.url, verify=ctx, headers={"Authorization": f"Bearer {box.token('member')}"}
        ) as c:
            assert c.get("/api/v1/live").status_code == 200  # the certificate is valid for 127.0.0.1
        served = ssl.get_server_certificate(("127.0.0.1", box.server.port))
        der = ssl.PEM_cert_to_DER_cert(served)
        shown = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
        assert shown == fingerprint(api_dir / "tls.crt") == box.ctx.fingerprint
        with pytest.raises(httpx.HTTPError):  # no plain HTTP on the TLS port
            httpx.get(f"http://127.0.0.1:{box.server.port}/api/v1/live", timeout=3)
    finally:
        box.server.stop()
    # a second start keeps the certificate (phones have learnt its fingerprint)
    again = start_box(tmp_path, household_db, {"host": "127.0.0.1", "port": 0, "dir": str(api_dir)})
    try:
        assert again.ctx.fingerprint == shown
    finally:
        again.server.stop()


def test_plain_http_only_on_loopback() -> None:
    with pytest.raises(UsageError, match=r"api: .*tls = false is allowed only on a loopback host"):
        parse_config({"api": {"host": "0.0.0.0", "tls": False}}, "hems.toml")
    assert parse_config({"api": {"host": "::1", "tls": False}}).api is not None
    with pytest.raises(UsageError, match=r"api\.bogus: unknown key"):
        parse_config({"api": {"bogus": 1}}, "hems.toml")


def _config(tmp_path: Path, port: int, tls: bool = False) -> Path:
    cfg = tmp_path / "hems.toml"
    cfg.write_text(
        f'[storage]\npath = "{tmp_path / "hems.db"}"\n'
        f'[api]\nhost = "127.0.0.1"\nport = {port}\ntls = {"true" if tls else "false"}\n'
    )
    return cfg


def test_token_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(_config(tmp_path, 8443))
    assert main(["api", "token", "add", "--config", cfg, "--role", "member", "--name", "Kari's phone"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert token.startswith("hems_") and "shown only now" in err
    tid = token.split("_")[1]
    assert main(["api", "token", "add", "--config", cfg, "--role", "installer", "--expires", "90d"]) == 0
    capsys.readouterr()
    assert main(["api", "token", "list", "--config", cfg]) == 0
    listing = capsys.readouterr().out
    assert f"{tid:<9} member" in listing and "Kari's phone" in listing and token not in listing
    installer = next(line for line in listing.splitlines() if " installer " in line)
    assert "never" not in installer  # installer tokens always expire (capped at installer_hours)
    assert main(["api", "token", "revoke", "--config", cfg, tid]) == 0
    assert main(["api", "token", "list", "--config", cfg]) == 0
    assert f"{tid:<9} member     revoked" in capsys.readouterr().out
    assert main(["api", "token", "add", "--config", cfg, "--role", "appliance"]) == 2
    assert capsys.readouterr().err.strip() == (
        "hems: error: an appliance token names its appliance (--appliance ID)"
    )
    assert main(["api", "token", "revoke", "--config", cfg, "nope"]) == 2
    plain = tmp_path / "plain.toml"
    plain.write_text("")
    assert main(["api", "info", "--config", str(plain)]) == 2
    assert "no [api] section" in capsys.readouterr().err


def test_demo_serves_the_api_while_it_cycles(tmp_path: Path) -> None:
    """`hems demo` with [api]: the daemon's own process serves the live state and the database."""
    port = free_port()
    cfg = _config(tmp_path, port, tls=True)
    out = subprocess.run(
        [sys.executable, "-m", "hems", "api", "token", "add", "--config", str(cfg), "--role", "member"],
        capture_output=True,
        text=True,
        check=True,
    )
    token = out.stdout.strip()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "hems", "demo", "--headless", "--quiet", "--config", str(cfg)]
    cmd += ["--db", str(tmp_path / "hems.db"), "--speed", "60", "--stop-after", "2h", "--start", "2026-01-15"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        ca: ssl.SSLContext | None = None  # the certificate is made when the daemon starts
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(set(seen)) < 3:
            try:
                ca = ca or ssl.create_default_context(cafile=str(tmp_path / "api" / "tls.crt"))
                r = httpx.get(
                    f"https://127.0.0.1:{port}/api/v1/live",
                    headers={"Authorization": f"Bearer {token}"},
                    verify=ca,
                    timeout=5,
                )
                now = r.json()["now"]
                if now is not None and now["import_w"] is not None:
                    seen.append(now["time"])
            except (httpx.HTTPError, OSError, ssl.SSLError):
                pass
            time.sleep(0.2)
        assert len(set(seen)) >= 3, "no live state from the API"
        r = httpx.get(
            f"https://127.0.0.1:{port}/api/v1/series",
            params={"channel": "grid.p_import_w", "resolution": "1m"},
            headers={"Authorization": f"Bearer {token}"},
            verify=ca,
        )
        assert r.status_code == 200 and r.json()["points"], r.text
        assert proc.poll() is None  # the daemon keeps cycling with the API on
        info = subprocess.run(
            [sys.executable, "-m", "hems", "api", "info", "--config", str(cfg)],
            capture_output=True,
            text=True,
        )
        assert f"SHA-256 fingerprint: {fingerprint(tmp_path / 'api' / 'tls.crt')}" in info.stdout
        assert "1 member" in info.stdout
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_fastapi_loads_only_with_the_api() -> None:
    code = (
        "import sys, hems.app, hems.daemon, hems.config, hems.commands.run, hems.commands.demo, hems.api, "
        "hems.api.server, hems.commands.api\n"
        "heavy = {'fastapi', 'uvicorn', 'starlette', 'cryptography', 'pyarrow'}\n"
        "print(json.dumps(sorted(heavy & {m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json\n" + code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []


def test_the_api_room_depends_only_on_hems_and_tariffs() -> None:
    for path in sorted((ROOT / "hems" / "api").rglob("*.py")):
        roots = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                roots.add(node.module.split(".")[0])
        assert not roots & {"tui", "devices", "optimiser"}, path


def test_a_busy_port_leaves_the_daemon_running(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        cfg = _config(tmp_path, taken.getsockname()[1])
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "hems", "demo", "--headless", "--quiet", "--config", str(cfg)]
        cmd += [
            "--db",
            str(tmp_path / "hems.db"),
            "--speed",
            "0",
            "--stop-after",
            "30m",
            "--start",
            "2026-01-15",
        ]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "the daemon runs on without it" in done.stderr
    assert "hems demo: 180 cycles stored" in done.stderr
