"""Cached principals and camera lists never outlive a change, even one made by another process.

The service caches who a bearer token is and the camera list; a rotate, disable or new camera made by the
``gatewatch`` command line (a separate process, run for real) must be seen by the very next request.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import bearer, make_user
from fastapi.testclient import TestClient
from support_footage import make_site_camera

from api import auth_cache
from api.app import create_app
from footage.db import session_scope

REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", "from api.cli.main import main; main()", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_another_process_revoking_a_token_ends_it_at_once(gw_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A long TTL, so that only the change stamp can end the cached principal (the CLI takes seconds to start).
    monkeypatch.setattr(auth_cache, "TTL_S", 600.0)
    token = make_user("officer", "olive")
    with TestClient(create_app()) as client:
        for _ in range(3):  # cached now
            assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
        rotated = _cli("users", "rotate-token", "olive")
        assert rotated.returncode == 0, rotated.stderr
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
        new = rotated.stdout.strip().splitlines()[-1].strip()
        assert client.get("/api/v1/me", headers=bearer(new)).status_code == 200
        assert _cli("users", "disable", "olive").returncode == 0
        assert client.get("/api/v1/me", headers=bearer(new)).status_code == 401


def test_in_process_changes_end_cached_principals_and_cameras(gw_home: Path, admin_headers: dict) -> None:
    token = make_user("officer", "otto")
    with session_scope() as session:
        make_site_camera(session)
    with TestClient(create_app()) as client:
        assert client.get("/api/v1/events", headers=bearer(token), params={"camera": "north-gate"}).status_code == 200
        assert client.get("/api/v1/events", headers=bearer(token), params={"camera": "elm-gate"}).status_code == 422
        with session_scope() as session:
            make_site_camera(session, "elm-gate", site="Elm Row", gate="Main gate")
        assert client.get("/api/v1/events", headers=bearer(token), params={"camera": "elm-gate"}).status_code == 200
        assert client.post("/api/v1/users/otto/disable", headers=admin_headers).status_code == 200
        assert client.get("/api/v1/events", headers=bearer(token)).status_code == 401
