"""The data folder is private: a fresh one is made 0700 with 0600 files, an old world-readable one is tightened."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import bearer, make_user
from fastapi.testclient import TestClient
from support_footage import make_site_camera, no_indexing_workers  # noqa: F401

from footage.db import reset_engines, session_scope
from footage.settings import get_settings


@pytest.fixture
def loose_umask() -> Iterator[None]:
    # What a service started from a default shell has; restored afterwards for the rest of the test run.
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _open_to_others(home: Path) -> list[str]:
    return sorted(f"{p.relative_to(home)} {stat.filemode(p.stat().st_mode)}" for p in [home, *home.rglob("*")]
                  if p.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def test_an_old_world_readable_data_folder_is_tightened_and_new_files_are_private(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, footage_dir: Path, loose_umask: None,
        caplog: pytest.LogCaptureFixture) -> None:
    home = tmp_path / "var"
    (home / "store" / "ab").mkdir(parents=True, mode=0o755)
    old_clip = home / "store" / "ab" / "old.mp4"
    old_clip.write_bytes(b"old footage")
    old_clip.chmod(0o644)
    home.chmod(0o755)
    monkeypatch.setenv("GATEWATCH_HOME", str(home))
    monkeypatch.delenv("GATEWATCH_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    reset_engines()
    from api.app import create_app
    from api.database import migrate

    with caplog.at_level(logging.WARNING, logger="footage.datadir"):
        migrate()
    assert "readable by other users" in caplog.text
    with session_scope() as session:
        make_site_camera(session)
    headers = bearer(make_user("admin", "root"))
    with TestClient(create_app()) as client:
        uploaded = client.post("/api/v1/cameras/north-gate/footage", params={"filename": "ch01_20241107053000.mp4"},
                               content=(footage_dir / "parking_aisle_car_detection.mp4").read_bytes(),
                               headers=headers)
        assert uploaded.status_code == 201, uploaded.text
        assert client.get("/api/v1/signing-key", headers=headers).status_code == 200
        started = client.post("/api/v1/cameras/north-gate/uploads", headers={
            **headers, "Upload-Length": "1000", "Upload-Metadata": "filename eC5tcDQ="})
        assert started.status_code == 201
    reset_engines()
    made = {p.relative_to(home).parts[0] for p in home.rglob("*") if p.is_file()}
    assert {"gatewatch.db", "store", "keys", "uploads"} <= made
    assert _open_to_others(home) == []
    assert stat.S_IMODE(home.stat().st_mode) == 0o700 and stat.S_IMODE(old_clip.stat().st_mode) == 0o600
