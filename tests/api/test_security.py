"""Energy@home's security tests on the real server: roles, revocation, expiry, rate limiting, and
nothing identifying in any answer."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from datetime import timedelta

import httpx
import pytest
from conftest import SECRETS, Box

from hems.api.guard import BadTokenGuard

DATA = [
    "/api/v1/channels",
    "/api/v1/series?channel=grid.p_import_w&resolution=1h",
    "/api/v1/espi",
    "/api/v1/reports/day",
    "/api/v1/month",
    "/api/v1/plan",
    "/api/v1/alerts",
]
LIVE = ["/api/v1/live"]
INSTALLER = ["/api/v1/diagnostics", "/api/v1/config/check"]
OWNER = ["/api/v1/tokens"]
EVERY_GET = DATA + LIVE + INSTALLER + OWNER + ["/api/v1/appliances/dishwasher", "/api/v1/whoami"]


def test_no_token_is_401_everywhere(box: Box) -> None:
    with box.client() as c:
        for path in [*EVERY_GET, "/api/v1/live/stream"]:
            r = c.get(path)
            assert r.status_code == 401, path
            assert r.headers["www-authenticate"] == "Bearer"
        assert c.post("/api/v1/tokens", json={"role": "owner"}).status_code == 401
        # the page and the API description hold no data and are public
        assert c.get("/").status_code == 200
        spec = c.get("/api/openapi.json").json()
        templated = {"/api/v1/reports/{period}", "/api/v1/appliances/{appliance}", "/api/v1/live/stream"}
        plain = {p.split("?")[0] for p in EVERY_GET if "reports/" not in p and "appliances/" not in p}
        assert plain | templated <= set(spec["paths"])
        assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
        assert "/api/v1/live/stream" in c.get("/api/docs").text


def test_a_member_reads_everything_and_changes_nothing(box: Box) -> None:
    member = box.token("member")
    with box.client(member) as c:
        for path in DATA + LIVE + ["/api/v1/appliances/dishwasher"]:
            assert c.get(path).status_code == 200, path
        for path in INSTALLER + OWNER:
            assert c.get(path).status_code == 403, path
        assert c.post("/api/v1/tokens", json={"role": "owner", "name": "me"}).status_code == 403
        victim = box.ctx.tokens.list()[0].id
        assert c.delete(f"/api/v1/tokens/{victim}").status_code == 403
        for path in DATA + LIVE:  # no endpoint writes the household's data
            assert c.post(path.split("?")[0], json={}).status_code == 405, path
            assert c.put(path.split("?")[0], json={}).status_code == 405, path
    assert [t.role for t in box.ctx.tokens.list()] == ["member"]


def test_a_display_token_sees_only_the_live_state(box: Box) -> None:
    with box.client(box.token("display")) as c:
        assert c.get("/api/v1/live").status_code == 200
        with c.stream("GET", "/api/v1/live/stream") as r:
            assert r.status_code == 200
        for path in DATA + INSTALLER + OWNER + ["/api/v1/appliances/dishwasher"]:
            assert c.get(path).status_code == 403, path


def test_an_appliance_token_sees_only_its_own_schedule_and_state(box: Box) -> None:
    with box.client(box.token("appliance", appliance="dishwasher")) as c:
        own = c.get("/api/v1/appliances/dishwasher")
        assert own.status_code == 200
        body = own.json()
        assert body["appliance"] == "dishwasher"
        assert body["planned_run"]["start"] is not None  # the optimiser's run for it
        assert "cheapest" in body["planned_run"]["why"]
        assert c.get("/api/v1/appliances/ev").status_code == 403
        for path in DATA + LIVE + INSTALLER + OWNER:
            assert c.get(path).status_code == 403, path


def test_an_installer_token_is_time_limited_and_sees_no_household_data(box: Box) -> None:
    token = box.token("installer", installer_hours=24.0)
    record = box.ctx.tokens.list()[0]
    assert record.expires is not None and record.expires - record.created <= timedelta(hours=24)
    with box.client(token) as c:
        assert c.get("/api/v1/diagnostics").status_code == 200
        check = c.get("/api/v1/config/check").json()
        assert check["ok"] is True
        for path in DATA + LIVE + OWNER:
            assert c.get(path).status_code == 403, path
    box.wall.t += timedelta(hours=24, seconds=1)
    with box.client(token) as c:
        assert c.get("/api/v1/diagnostics").status_code == 401


def test_revoked_and_expired_tokens_are_refused_at_once(box: Box) -> None:
    member = box.token("member")
    short = box.token("member", expires=box.wall() + timedelta(minutes=5))
    with box.client(member) as c:
        assert c.get("/api/v1/plan").status_code == 200
        box.ctx.tokens.revoke(member.split("_")[1], box.wall())  # as `hems api token revoke` does
        assert c.get("/api/v1/plan").status_code == 401
    with box.client(short) as c:
        assert c.get("/api/v1/plan").status_code == 200
        box.wall.t += timedelta(minutes=5)
        assert c.get("/api/v1/plan").status_code == 401


def test_a_revoked_token_ends_its_open_stream(box: Box) -> None:
    owner = box.token("owner")
    display = box.token("display")
    lines: list[str] = []

    def listen() -> None:
        with box.client(display) as c, c.stream("GET", "/api/v1/live/stream") as r:
            for line in r.iter_lines():
                lines.append(line)
                if line.startswith("event: revoked"):
                    return

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    deadline = time.monotonic() + 10
    while "event: live" not in lines and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "event: live" in lines
    display_id = display.split("_")[1]
    with box.client(owner) as c:
        assert c.delete(f"/api/v1/tokens/{display_id}").status_code == 200
    reader.join(5)
    assert not reader.is_alive()
    assert lines[-1] == "event: revoked"


def test_bad_tokens_are_rate_limited_per_client(box: Box) -> None:
    fake = [1000.0]
    box.ctx.guard = BadTokenGuard(5, 300.0, wall=lambda: fake[0])
    good = box.token("member")
    with box.client() as c:
        codes = [
            c.get("/api/v1/live", headers={"Authorization": f"Bearer hems_deadbeef_{'x' * 43}"}).status_code
            for _ in range(7)
        ]
        assert codes[:5] == [401] * 5
        assert codes[5:] == [429, 429]
        locked = c.get("/api/v1/live", headers={"Authorization": f"Bearer {good}"})
        assert locked.status_code == 429  # a locked-out client learns nothing, even with a good token
        assert 0 < int(locked.headers["retry-after"]) <= 300
        fake[0] += 301
        assert c.get("/api/v1/live", headers={"Authorization": f"Bearer {good}"}).status_code == 200


def test_tokens_are_stored_hashed_in_a_private_file(box: Box) -> None:
    secret = box.token("owner")
    path = box.ctx.tokens.path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    raw = path.read_bytes()
    assert secret.encode() not in raw and secret.split("_", 2)[2].encode() not in raw
    with box.client(secret) as c:
        listed = c.get("/api/v1/tokens").text
        assert secret.split("_", 2)[2] not in listed
        made = c.post("/api/v1/tokens", json={"role": "display", "name": "hall"}).json()
        assert made["token"].startswith(f"hems_{made['id']}_")  # shown once, when made
        assert made["token"] not in c.get("/api/v1/tokens").text


def test_no_answer_holds_contact_details_the_telemetry_token_or_the_meter_id(box: Box) -> None:
    owner = box.token("owner")
    bodies = []
    with box.client(owner) as c:
        for path in [*EVERY_GET, "/api/v1/reports/month", "/api/v1/espi?resolution=1h", "/", "/api/docs"]:
            r = c.get(path)
            assert r.status_code == 200, (path, r.text[:200])
            bodies.append((path, r.text))
        with c.stream("GET", "/api/v1/live/stream") as r:
            for line in r.iter_lines():
                if line.startswith("data: "):
                    bodies.append(("stream", line))
                    break
    # a broken config file on disk: its error line must not echo secrets either
    box.ctx.config_path = str(box.state.with_name("broken.toml"))
    box.state.with_name("broken.toml").write_text(
        f'[telemetry]\ntoken = "{SECRETS["telemetry token"]}"\nbogus = 1\n'
    )
    with box.client(owner) as c:
        check = c.get("/api/v1/config/check")
        assert check.json()["ok"] is False
        bodies.append(("config check", check.text))
    for path, text in bodies:
        for what, value in SECRETS.items():
            assert value not in text, f"{path} returns the {what}"
        assert "59.91234" not in text and "10.75432" not in text, f"{path} returns the location"
    live = json.loads(next(t for p, t in bodies if p == "/api/v1/live"))
    assert "meter_id" not in live["state"]["grid"]
    assert live["state"]["grid"]["p_import_w"] == 2450.0


@pytest.mark.parametrize("role", ["member", "display"])
def test_a_token_cannot_make_tokens_or_raise_its_role(box: Box, role: str) -> None:
    with box.client(box.token(role)) as c:
        r = c.post("/api/v1/tokens", json={"role": "owner", "name": "escalate"})
        assert r.status_code == 403
    assert all(t.role == role for t in box.ctx.tokens.list())


def test_security_headers(box: Box) -> None:
    with httpx.Client(base_url=box.url) as c:
        page = c.get("/")
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        api = c.get("/api/v1/live")
        assert api.headers["cache-control"] == "no-store"
        assert "access-control-allow-origin" not in api.headers  # no other origin may read it
