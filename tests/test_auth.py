"""Roles, tokens, web sessions and the failed-login throttle, through the real app and the real CLI."""

from __future__ import annotations

import stat
from pathlib import Path

from conftest import bearer, make_user
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.audit import list_entries
from api.auth import authenticate_token
from api.cli.main import app as cli_app
from api.deps import SESSION_COOKIE
from api.users import disable_user, ensure_admin
from footage.db import session_scope
from footage.models import Site
from footage.settings import get_settings


def _site(name: str) -> None:
    with session_scope() as session:
        session.add(Site(name=name))


def test_each_role_reaches_what_it_may(client: TestClient, admin_headers: dict[str, str]) -> None:
    _site("Palm Grove")
    _site("Cedar Court")
    officer = bearer(make_user("officer", "olive"))
    scoped = bearer(make_user("officer", "oscar", ["Cedar Court"]))
    manager = bearer(make_user("manager", "mona", ["Palm Grove"]))

    assert client.get("/api/v1/me", headers=admin_headers).json()["role"] == "admin"
    assert client.get("/api/v1/me", headers=manager).json() == {
        "name": "mona", "role": "manager", "sites": ["Palm Grove"], "all_sites": False}
    assert client.get("/api/v1/me", headers=scoped).json()["sites"] == ["Cedar Court"]
    assert client.get("/api/v1/me", headers=officer).json()["all_sites"] is True

    assert client.get("/api/v1/cases", headers=officer).status_code == 200
    assert client.get("/api/v1/cases", headers=manager).status_code == 403
    for headers in (officer, manager):
        assert client.get("/api/v1/users", headers=headers).status_code == 403
        assert client.get("/api/v1/audit", headers=headers).status_code == 403
    assert client.get("/api/v1/users", headers=admin_headers).status_code == 200

    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/api/v1/me", headers=bearer("gw_not-a-real-token")).status_code == 401
    assert client.get("/api/v1/signing-key").status_code == 200


def test_rotating_and_disabling_end_tokens(client: TestClient, admin_headers: dict[str, str]) -> None:
    created = client.post("/api/v1/users", headers=admin_headers, json={"name": "olive", "role": "officer"})
    assert created.status_code == 201
    old = bearer(created.json()["token"])
    assert client.get("/api/v1/me", headers=old).status_code == 200
    assert "token" not in client.get("/api/v1/users", headers=admin_headers).json()[0]

    rotated = client.post("/api/v1/users/olive/rotate-token", headers=admin_headers)
    new = bearer(rotated.json()["token"])
    assert client.get("/api/v1/me", headers=old).status_code == 401
    assert client.get("/api/v1/me", headers=new).status_code == 200

    assert client.post("/api/v1/users/olive/disable", headers=admin_headers).json()["disabled"] is True
    assert client.get("/api/v1/me", headers=new).status_code == 401
    assert client.post("/api/v1/users/nobody/disable", headers=admin_headers).status_code == 404
    assert client.post("/api/v1/users", headers=admin_headers,
                       json={"name": "mgr", "role": "manager"}).status_code == 422

    with session_scope() as session:
        actions = [e.action for e in list_entries(session, user="admin").entries]
    assert actions == ["user_disable", "user_rotate_token", "user_create"]


def test_web_session_cookie_ends_with_rotation_and_disabling(client: TestClient,
                                                             admin_headers: dict[str, str]) -> None:
    token = make_user("officer", "olive")
    response = client.post("/api/v1/session", json={"name": "olive", "token": token})
    assert response.status_code == 200
    assert response.json()["name"] == "olive"
    set_cookie = response.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie and "Path=/" in set_cookie
    assert client.get("/api/v1/me").json()["name"] == "olive"  # the client sends the cookie back

    cookie = client.cookies[SESSION_COOKIE]
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, ("A" if cookie[0] != "A" else "B") + cookie[1:])
    assert client.get("/api/v1/me").status_code == 401
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    assert client.get("/api/v1/me").status_code == 200

    client.post("/api/v1/users/olive/rotate-token", headers=admin_headers)
    assert client.get("/api/v1/me").status_code == 401
    client.cookies.clear()

    fresh = client.post("/api/v1/users/olive/rotate-token", headers=admin_headers).json()["token"]
    assert client.post("/api/v1/session", json={"name": "olive", "token": fresh}).status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    assert client.delete("/api/v1/session").status_code == 204
    assert client.get("/api/v1/me").status_code == 401

    client.post("/api/v1/session", json={"name": "olive", "token": fresh})
    client.post("/api/v1/users/olive/disable", headers=admin_headers)
    assert client.get("/api/v1/me").status_code == 401
    assert client.post("/api/v1/session", json={"name": "olive", "token": fresh}).status_code == 401


def test_repeated_failed_logins_are_slowed_and_recorded(client: TestClient) -> None:
    token = make_user("officer", "olive")
    for _ in range(5):
        assert client.post("/api/v1/session", json={"name": "olive", "token": "guess"}).status_code == 401
    blocked = client.post("/api/v1/session", json={"name": "olive", "token": token})
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    # A colleague's bearer token from the same address (an office NAT) still works; bad ones are only recorded.
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/me", headers=bearer("gw_wrong")).status_code == 401
    # Failures are folded into one entry per address per minute; write the current minute's now.
    client.app.state.audit_writer.flush_failed_logins()
    with session_scope() as session:
        failures = list_entries(session, action="login_failed").entries
    assert [(e.user_name, e.remote_addr, e.detail["count"], e.detail["via"], e.detail["names"]) for e in failures] == [
        ("olive", "testclient", 6, ["bearer", "web"], ["olive"])]


def test_cli_users_print_token_once_and_audit(gw_home: Path) -> None:
    runner = CliRunner()
    with session_scope() as session:
        session.add(Site(name="Palm Grove"))
    added = runner.invoke(cli_app, ["users", "add", "mona", "--role", "manager", "--site", "Palm Grove"])
    assert added.exit_code == 0, added.output
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith("gw_")

    listed = runner.invoke(cli_app, ["users", "list", "--json"])
    assert '"sites": [\n      "Palm Grove"\n    ]' in listed.stdout and token not in listed.stdout

    rotated = runner.invoke(cli_app, ["users", "rotate-token", "mona", "--json"])
    assert rotated.exit_code == 0 and token not in rotated.stdout
    assert runner.invoke(cli_app, ["users", "disable", "mona"]).exit_code == 0

    refused = runner.invoke(cli_app, ["users", "add", "x", "--role", "manager"])
    assert refused.exit_code == 1 and "exactly one site" in refused.output
    assert runner.invoke(cli_app, ["users", "disable", "nobody"]).exit_code == 1

    with session_scope() as session:
        actions = [e.action for e in list_entries(session).entries]
    assert actions == ["user_disable", "user_rotate_token", "user_create"]


def test_ensure_admin_creates_one_admin_once(gw_home: Path) -> None:
    with session_scope() as session:
        token = ensure_admin(session)
    assert token is not None
    with session_scope() as session:
        assert ensure_admin(session) is None
    with session_scope() as session:
        disable_user(session, "admin")
    with session_scope() as session:
        replacement = ensure_admin(session)
    assert replacement is not None
    with session_scope() as session:
        assert authenticate_token(session, replacement).name == "admin2"


def test_secrets_are_created_once_and_private(client: TestClient) -> None:
    keys = get_settings().keys_dir
    assert (keys / "evidence_ed25519.pem").exists() and (keys / "session_secret").exists()  # made on start
    first = client.get("/api/v1/signing-key").json()
    assert first["algorithm"] == "Ed25519" and "BEGIN PUBLIC KEY" in first["public_key_pem"]
    assert client.get("/api/v1/signing-key").json() == first
    token = make_user("officer", "olive")
    client.post("/api/v1/session", json={"name": "olive", "token": token})
    for name in ("evidence_ed25519.pem", "session_secret"):
        assert stat.S_IMODE((keys / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
