"""``hems mqtt-acl --config FILE --out DIR``: a mosquitto password file and ACL for the site.

Roles (see docs/control.md):
- the box (``[mqtt].username``, default ``hems-<site>``): reads and writes everything under
  ``hems/<site>/`` and Home Assistant's discovery prefix — the only one who may publish schedules
  and commands;
- each ``[[appliance]]`` (user name = its id): publishes only its own ``request``/``ack``/``state``
  and reads only its own ``schedule``/``set``/``ack`` and the box's ``status``;
- ``homeassistant``: reads ``hems/<site>/#``, announces itself on ``homeassistant/status``.

Passwords are random and kept in ``DIR/credentials.json`` (mode 0600), re-used when the command runs
again so existing appliances keep working; the box's password comes from ``[mqtt].password`` when set.
The password file holds PBKDF2-SHA512 hashes in mosquitto 2's ``$7$`` format (as mosquitto_passwd).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
from pathlib import Path

from hems.errors import UsageError

NAME = "mqtt-acl"
HELP = "write a mosquitto password file and ACL giving each appliance only its own topics"

ITERATIONS = 101  #: mosquitto_passwd's default
_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")  #: user names safe in passwd and acl files
HOMEASSISTANT_USER = "homeassistant"


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """mosquitto 2 password hash: ``$7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512>``."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def acl_text(site: str, box_user: str, appliances: list[str], ha_prefix: str = "homeassistant") -> str:
    """The ACL file: one ``user`` section per role member."""
    base = f"hems/{site}"
    lines = [
        f"# hems MQTT access control for site {site} (written by `hems mqtt-acl`)",
        "# roles: the box writes schedules/commands; each appliance only its own request/ack/state",
        "",
        f"user {box_user}",
        f"topic readwrite {base}/#",
        f"topic readwrite {ha_prefix}/#",
        "",
        f"user {HOMEASSISTANT_USER}",
        f"topic read {base}/#",
        f"topic readwrite {ha_prefix}/status",
        f"topic read {ha_prefix}/#",
    ]
    for aid in appliances:
        t = f"{base}/appliance/{aid}"
        lines += [
            "",
            f"user {aid}",
            f"topic write {t}/request",
            f"topic readwrite {t}/ack",
            f"topic write {t}/state",
            f"topic read {t}/schedule",
            f"topic read {t}/set",
            f"topic read {base}/status",
        ]
    return "\n".join(lines) + "\n"


def _credentials(path: Path, users: list[str], fixed: dict[str, str]) -> dict[str, str]:
    old: dict[str, str] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise UsageError(f"{path}: not valid JSON ({exc}); remove it to generate new passwords") from None
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            raise UsageError(f"{path}: expected an object of user name → password")
        old = loaded
    return {u: fixed.get(u) or old.get(u) or secrets.token_urlsafe(18) for u in users}


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


def write_acl(config_path: str, out_dir: str) -> dict[str, str]:
    """Write ``passwd``, ``acl`` and ``credentials.json`` into ``out_dir``; return user → password."""
    from hems.config import load_config

    config = load_config(config_path)
    site = config.site.id
    mqtt = config.mqtt
    box = (mqtt.username if mqtt and mqtt.username else None) or f"hems-{site}"
    appliances = [a.id for a in config.appliance]
    for user in (box, *appliances):
        if not _USER.match(user):  # a newline would add ACL lines, a ':' would break the passwd file
            raise UsageError(
                f"{config_path}: MQTT user name {user!r} may hold only letters, digits, '.', '_', '-' and "
                "'@' (1 to 64 characters)"
            )
    clash = {box, HOMEASSISTANT_USER} & set(appliances)
    if clash:
        raise UsageError(f"{config_path}: appliance id {sorted(clash)[0]!r} clashes with an MQTT user name")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{out}: cannot create the output directory: {exc}") from None
    fixed = {box: mqtt.password} if mqtt and mqtt.password else {}
    creds = _credentials(out / "credentials.json", [box, HOMEASSISTANT_USER, *appliances], fixed)
    prefix = mqtt.homeassistant_prefix if mqtt else "homeassistant"
    _write_private(out / "passwd", "".join(f"{u}:{hash_password(p)}\n" for u, p in creds.items()))
    _write_private(out / "acl", acl_text(site, box, appliances, prefix))
    _write_private(out / "credentials.json", json.dumps(creds, indent=2) + "\n")
    return creds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="the hems.toml with [site] and [[appliance]]")
    parser.add_argument("--out", required=True, help="directory for passwd, acl and credentials.json")


def run(args: argparse.Namespace) -> int:
    creds = write_acl(args.config, args.out)
    out = Path(args.out)
    print(f"wrote {out / 'passwd'} and {out / 'acl'} for {len(creds)} users")
    print(f"passwords (keep private): {out / 'credentials.json'}")
    print("mosquitto.conf:")
    print(f"  password_file {out.resolve() / 'passwd'}")
    print(f"  acl_file {out.resolve() / 'acl'}")
    print("  allow_anonymous false")
    return 0
