"""Uploads over HTTP: one request, resumable (tus) across a restart and a dropped connection, and who may."""

from __future__ import annotations

import base64
import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import bearer, make_user
from fastapi.testclient import TestClient
from support_footage import make_site_camera, no_indexing_workers, store_files  # noqa: F401

from api.app import create_app
from footage import uploads
from footage.db import session_scope

PARKING = "parking_aisle_car_detection.mp4"
NAME = "ch01_20241107053000.mp4"


@pytest.fixture
def camera(gw_home: Path) -> str:
    with session_scope() as session:
        make_site_camera(session)
        make_site_camera(session, "elm-gate", site="Elm Row", gate="Main gate")
    return "north-gate"


def metadata(**items: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in items.items())


def test_single_request_upload_is_imported_and_listed(client: TestClient, admin_headers: dict, camera: str,
                                                      footage_dir: Path, gw_home: Path) -> None:
    assert client.app.state.worker_pool is None  # nothing indexes behind the test's back
    data = (footage_dir / PARKING).read_bytes()
    response = client.post(f"/api/v1/cameras/{camera}/footage", params={"filename": NAME}, content=data,
                           headers=admin_headers)
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["status"] == "imported"
    assert result["sha256"] == hashlib.sha256(data).hexdigest()
    assert result["start"] == "2024-11-07T05:30:00+08:00"
    assert result["path"] == NAME

    segments = client.get(f"/api/v1/cameras/{camera}/segments", headers=admin_headers).json()
    assert [(s["id"], s["original_name"], s["status"]) for s in segments] == [(result["segment_id"], NAME, "queued")]
    assert segments[0]["job"]["status"] == "queued"
    assert segments[0]["duration_s"] == pytest.approx(30.16)
    assert not list((gw_home / "uploads").glob("*.part"))

    again = client.post(f"/api/v1/cameras/{camera}/footage", params={"filename": "other.mp4"}, content=data,
                        headers=admin_headers)
    assert again.status_code == 201 and again.json()["status"] == "duplicate"
    assert len(store_files(gw_home)) == 1


def test_resumable_upload_resumes_after_a_restart(gw_home: Path, camera: str, footage_dir: Path) -> None:
    data = (footage_dir / PARKING).read_bytes()
    headers = bearer(make_user("manager", "mia", ["Maple Court"]))
    chunk = 256 * 1024
    with TestClient(create_app()) as client:
        created = client.post(f"/api/v1/cameras/{camera}/uploads", headers={
            **headers, "Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)), "Upload-Metadata": metadata(
                filename=NAME)})
        assert created.status_code == 201, created.text
        location = created.headers["Location"]
        assert location.startswith("/api/v1/uploads/")
        for offset in range(0, 3 * chunk, chunk):
            sent = client.patch(location, content=data[offset:offset + chunk], headers={
                **headers, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
            assert sent.status_code == 204, sent.text
            assert sent.headers["Upload-Offset"] == str(offset + chunk)
        stale = client.patch(location, content=data[:chunk], headers={
            **headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
        assert stale.status_code == 409 and "HEAD" in stale.json()["detail"]

    # The service restarts: the running hash is gone, the bytes on disk are not.
    uploads._hashers.clear()
    with TestClient(create_app()) as client:
        head = client.head(location, headers=headers)
        assert head.status_code == 200
        offset = int(head.headers["Upload-Offset"])
        assert (offset, int(head.headers["Upload-Length"])) == (3 * chunk, len(data))
        assert client.get(location, headers=headers).json()["complete"] is False
        while offset < len(data):
            sent = client.patch(location, content=data[offset:offset + 4 * chunk], headers={
                **headers, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
            assert sent.status_code == 204, sent.text
            offset = int(sent.headers["Upload-Offset"])
        status = client.get(location, headers=headers).json()
    assert status["complete"] is True and status["offset"] == len(data)
    assert status["result"]["status"] == "imported"
    assert status["result"]["sha256"] == hashlib.sha256(data).hexdigest()
    stored = store_files(gw_home)
    assert [p.read_bytes() == data for p in stored] == [True]
    assert not list((gw_home / "uploads").glob("*.part"))


@pytest.fixture
def live_server(gw_home: Path) -> Iterator[int]:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    thread.join(10)


def test_a_dropped_connection_resumes_from_the_last_byte_stored(live_server: int, camera: str, footage_dir: Path,
                                                                gw_home: Path) -> None:
    data = (footage_dir / PARKING).read_bytes()
    token = make_user("admin", "root")
    base = f"http://127.0.0.1:{live_server}"
    with httpx.Client(base_url=base, headers=bearer(token), timeout=30) as http:
        location = http.post(f"/api/v1/cameras/{camera}/uploads", headers={
            "Upload-Length": str(len(data)), "Upload-Metadata": metadata(filename=NAME)}).headers["Location"]

        # Promise the whole file, send a third of it, and hang up.
        sent = len(data) // 3
        with socket.create_connection(("127.0.0.1", live_server)) as raw:
            raw.sendall((f"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                         "Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
                         f"Tus-Resumable: 1.0.0\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data[:sent])
            time.sleep(0.5)
        deadline = time.monotonic() + 20
        while (offset := int(http.head(location).headers["Upload-Offset"])) < sent:
            assert time.monotonic() < deadline, f"only {offset} of the {sent} bytes sent were kept"
            time.sleep(0.1)
        assert offset == sent

        resumed = http.patch(location, content=data[offset:], headers={
            "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
        assert resumed.status_code == 204, resumed.text
        result = http.get(location).json()["result"]
        assert result["status"] == "imported"
        assert result["sha256"] == hashlib.sha256(data).hexdigest()
        assert http.get("/healthz").json() == {"status": "ok"}


def test_who_may_upload_and_list(client: TestClient, camera: str, footage_dir: Path) -> None:
    elm_manager = bearer(make_user("manager", "eve", ["Elm Row"]))
    officer = bearer(make_user("officer", "olga"))
    maple_manager = bearer(make_user("manager", "mia", ["Maple Court"]))
    admin = bearer(make_user("admin", "root"))
    url = f"/api/v1/cameras/{camera}/footage"

    assert client.post(url, params={"filename": NAME}, content=b"x").status_code == 401
    assert client.post(url, params={"filename": NAME}, content=b"x", headers=elm_manager).status_code == 403
    assert client.post(url, params={"filename": NAME}, content=b"x", headers=officer).status_code == 403
    assert client.post("/api/v1/cameras/nowhere/footage", params={"filename": NAME}, content=b"x",
                       headers=elm_manager).status_code == 403
    assert client.post("/api/v1/cameras/nowhere/footage", params={"filename": NAME}, content=b"x",
                       headers=admin).status_code == 404
    assert client.post(f"/api/v1/cameras/{camera}/uploads", headers={**elm_manager, "Upload-Length": "10",
                       "Upload-Metadata": metadata(filename=NAME)}).status_code == 403
    ok = client.post(url, params={"filename": NAME}, content=(footage_dir / PARKING).read_bytes(),
                     headers=maple_manager)
    assert ok.status_code == 201, ok.text

    assert client.get(f"/api/v1/cameras/{camera}/segments", headers=elm_manager).status_code == 403
    assert len(client.get(f"/api/v1/cameras/{camera}/segments", headers=officer).json()) == 1
    assert [s["name"] for s in client.get("/api/v1/sites", headers=maple_manager).json()] == ["Maple Court"]
    assert [c["id"] for c in client.get("/api/v1/cameras", headers=elm_manager).json()] == ["elm-gate"]
    assert [s["name"] for s in client.get("/api/v1/sites", headers=officer).json()] == ["Elm Row", "Maple Court"]


def test_admin_creates_sites_and_cameras(client: TestClient, admin_headers: dict) -> None:
    second_admin = bearer(make_user("admin", "other-admin"))
    assert client.post("/api/v1/sites", json={"name": "Oak Park"}, headers=admin_headers).status_code == 201
    assert client.post("/api/v1/sites", json={"name": "Oak Park"}, headers=admin_headers).status_code == 409
    camera = {"id": "oak-1", "site": "Oak Park", "gate": "West gate", "timezone": "Asia/Harbin",
              "zones": {"barrier": [[0.1, 0.5], [0.6, 0.5], [0.6, 0.9]]}}
    created = client.post("/api/v1/cameras", json=camera, headers=second_admin)
    assert created.status_code == 201, created.text
    assert created.json() == {**camera, "clock_offset_s": 0.0, "retain_days": None, "effective_retain_days": None,
                              "read_plates": True}
    assert client.post("/api/v1/cameras", json=camera, headers=admin_headers).status_code == 409
    bad_zone = {**camera, "id": "oak-2", "zones": {"barrier": [[0.1, 0.5], [1.6, 0.5], [0.6, 0.9]]}}
    refused = client.post("/api/v1/cameras", json=bad_zone, headers=admin_headers)
    assert refused.status_code == 422 and "outside the frame" in refused.json()["detail"]
    bad_zone_tz = {**camera, "id": "oak-3", "timezone": "Nowhere/Land"}
    assert "unknown time zone" in client.post("/api/v1/cameras", json=bad_zone_tz, headers=admin_headers).text
    officer = bearer(make_user("officer", "olga"))
    assert client.post("/api/v1/sites", json={"name": "Pine"}, headers=officer).status_code == 403
    assert client.post("/api/v1/cameras", json={**camera, "id": "x"}, headers=officer).status_code == 403


def test_uploads_over_the_limit_get_413_and_leave_nothing(gw_home: Path, camera: str, footage_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from footage.settings import get_settings

    monkeypatch.setenv("GATEWATCH_MAX_UPLOAD_BYTES", "100000")
    get_settings.cache_clear()
    headers = bearer(make_user("admin", "root"))
    data = (footage_dir / PARKING).read_bytes()

    def endless() -> Iterator[bytes]:
        # No Content-Length: the limit must hold while streaming, not only on the declared size.
        for _ in range(64):
            yield b"\0" * 65536

    with TestClient(create_app()) as client:
        declared = client.post(f"/api/v1/cameras/{camera}/footage", params={"filename": NAME}, content=data,
                               headers=headers)
        assert declared.status_code == 413
        streamed = client.post(f"/api/v1/cameras/{camera}/footage", params={"filename": NAME}, content=endless(),
                               headers=headers)
        assert streamed.status_code == 413
        tus = client.post(f"/api/v1/cameras/{camera}/uploads", headers={
            **headers, "Upload-Length": str(len(data)), "Upload-Metadata": metadata(filename=NAME)})
        assert tus.status_code == 413
        assert client.get("/healthz").status_code == 200
    assert not list((gw_home / "uploads").glob("*"))
    assert store_files(gw_home) == []
