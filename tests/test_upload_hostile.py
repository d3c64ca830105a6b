"""Hostile uploads: filling the disk, hoarding uploads, racing the last chunk, and duplicates across sites.

Real server (the app through the test client, or uvicorn on a free port), real footage, the real disk's free
space (a huge reserve makes the real check refuse), real SQLite.
"""

from __future__ import annotations

import base64
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import bearer, make_user
from fastapi.testclient import TestClient
from support_footage import make_site_camera, no_indexing_workers, nvr_copy, store_files  # noqa: F401
from typer.testing import CliRunner

from api.app import create_app
from api.audit import list_entries
from api.cli.main import app as cli_app
from footage import uploads
from footage.db import session_scope
from footage.settings import get_settings

PARKING = "parking_aisle_car_detection.mp4"
NAME = "ch01_20241107053000.mp4"
HUGE = str(10**18)


def _metadata(**items: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in items.items())


@pytest.fixture
def cameras(gw_home: Path) -> None:
    with session_scope() as session:
        make_site_camera(session)  # north-gate, Maple Court
        make_site_camera(session, "elm-gate", site="Elm Row", gate="Main gate")


def _create(client: TestClient | httpx.Client, headers: dict, length: int, camera: str = "north-gate",
            name: str = NAME) -> httpx.Response:
    return client.post(f"/api/v1/cameras/{camera}/uploads", headers={
        **headers, "Tus-Resumable": "1.0.0", "Upload-Length": str(length), "Upload-Metadata": _metadata(filename=name)})


def _set(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def test_uploads_cannot_promise_more_than_the_disk_holds(gw_home: Path, cameras: None, client: TestClient,
                                                         admin_headers: dict, footage_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from footage.storage import disk_reserve

    usage = shutil.disk_usage(gw_home)
    room = usage.free - disk_reserve(usage.total)
    # Each fits the disk alone (and the size limit); two of them do not.
    monkeypatch.setenv("GATEWATCH_MAX_UPLOAD_BYTES", str(room))
    get_settings.cache_clear()
    first = _create(client, admin_headers, int(room * 0.6))
    assert first.status_code == 201, first.text
    second = _create(client, admin_headers, int(room * 0.6))
    assert second.status_code == 507 and "promised to uploads in progress" in second.json()["detail"]
    assert len(list((gw_home / "uploads").glob("*.json"))) == 1

    _set(monkeypatch, "GATEWATCH_DISK_RESERVE_BYTES", HUGE)
    refused = _create(client, admin_headers, 1000)
    assert refused.status_code == 507 and "GATEWATCH_DISK_RESERVE_BYTES" in refused.json()["detail"]
    single = client.post("/api/v1/cameras/north-gate/footage", params={"filename": NAME},
                         content=(footage_dir / PARKING).read_bytes(), headers=admin_headers)
    assert single.status_code == 507 and "not enough disk space" in single.json()["detail"]
    assert store_files(gw_home) == []

    with session_scope() as session:
        started = list_entries(session, action="upload_start").entries
    assert [(e.user_name, e.detail["length"]) for e in started] == [("admin", int(room * 0.6))]


def test_an_import_is_refused_before_anything_is_written_when_the_disk_is_full(
        gw_home: Path, cameras: None, footage_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, "GATEWATCH_DISK_RESERVE_BYTES", HUGE)
    clip = nvr_copy(footage_dir, PARKING, tmp_path / "nvr", NAME)
    result = CliRunner().invoke(cli_app, ["import", str(clip), "--camera", "north-gate", "--json"])
    assert result.exit_code == 1
    assert '"status": "refused"' in result.stdout and "not enough disk space for ch01_20241107053000.mp4" \
        in result.stdout
    assert store_files(gw_home) == []


def test_open_uploads_are_capped_per_user_and_abandoned_ones_expire(
        gw_home: Path, cameras: None, monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, "GATEWATCH_MAX_OPEN_UPLOADS_PER_USER", "2")
    mia = bearer(make_user("manager", "mia", ["Maple Court"]))
    with TestClient(create_app()) as client:
        ids = [_create(client, mia, 1000).json()["id"] for _ in range(2)]
        capped = _create(client, mia, 1000)
        assert capped.status_code == 429 and "2 unfinished uploads" in capped.json()["detail"]
        assert _create(client, bearer(make_user("admin", "root")), 1000).status_code == 201

    # Abandoned a day and a bit ago: the next service start removes them, which frees mia's slots.
    old = time.time() - get_settings().upload_expire_s - 60
    for upload_id in ids:
        for path in (uploads.state_path(upload_id), uploads.part_path(upload_id)):
            os.utime(path, (old, old))
    with TestClient(create_app()) as client:
        # The janitor thread removes them one after another: wait for every file of both, not just the first.
        deadline = time.monotonic() + 10
        left = [p for i in ids for p in (uploads.state_path(i), uploads.part_path(i))]
        while any(p.exists() for p in left):
            assert time.monotonic() < deadline, "the service did not remove the abandoned uploads on start"
            time.sleep(0.05)
        assert client.head(f"/api/v1/uploads/{ids[0]}", headers=mia).status_code == 404
        assert _create(client, mia, 1000).status_code == 201
    assert len(list((gw_home / "uploads").glob("*.json"))) == 2  # root's and mia's new one


@pytest.fixture
def live_server(gw_home: Path, cameras: None) -> Iterator[int]:
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


def test_empty_patches_at_the_final_offset_never_start_a_second_import(live_server: int, footage_dir: Path,
                                                                       gw_home: Path) -> None:
    data = (footage_dir / PARKING).read_bytes()
    headers = {**bearer(make_user("admin", "root")), "Content-Type": "application/offset+octet-stream"}
    base = f"http://127.0.0.1:{live_server}"
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        location = _create(http, {}, len(data)).headers["Location"]
        head = len(data) - 1000
        assert http.patch(location, content=data[:head], headers={"Upload-Offset": "0"}).status_code == 204

        last: dict[str, httpx.Response] = {}
        sender = threading.Thread(target=lambda: last.setdefault("r", http.patch(
            location, content=data[head:], headers={"Upload-Offset": str(head)})))
        sender.start()
        # While the last chunk's import runs (probing takes a while), hammer the final offset with empty PATCHes.
        racers: list[int] = []
        with httpx.Client(base_url=base, headers=headers, timeout=60) as other:
            while sender.is_alive() or len(racers) < 3:
                racers.append(other.patch(location, content=b"",
                                          headers={"Upload-Offset": str(len(data))}).status_code)
        sender.join()
        assert last["r"].status_code == 204, last["r"].text
        assert racers and set(racers) <= {409}, racers
        status = http.get(location).json()
    assert status["complete"] and status["result"]["status"] == "imported"
    with session_scope() as session:
        imports = list_entries(session, action="upload").entries
    assert len(imports) == 1 and imports[0].detail["status"] == "imported"
    assert len(store_files(gw_home)) == 1


def test_a_duplicate_reveals_nothing_about_another_site(client: TestClient, cameras: None, footage_dir: Path,
                                                        gw_home: Path) -> None:
    data = (footage_dir / PARKING).read_bytes()
    maple = bearer(make_user("manager", "mia", ["Maple Court"]))
    elm = bearer(make_user("manager", "eli", ["Elm Row"]))
    first = client.post("/api/v1/cameras/north-gate/footage", params={"filename": NAME}, content=data, headers=maple)
    assert first.status_code == 201 and first.json()["status"] == "imported"

    # Elm Row's manager sends the very same file under another name and start: it becomes Elm Row's own segment.
    theirs = client.post("/api/v1/cameras/elm-gate/footage",
                         params={"filename": "main.mp4", "start": "2024-12-01T08:00:00"}, content=data, headers=elm)
    assert theirs.status_code == 201, theirs.text
    body = theirs.json()
    assert body["status"] == "imported" and body["camera"] == "elm-gate"
    assert body["segment_id"] != first.json()["segment_id"] and body["start"] == "2024-12-01T08:00:00+08:00"
    assert "north-gate" not in theirs.text and "05:30" not in theirs.text
    segments = client.get("/api/v1/cameras/elm-gate/segments", headers=elm).json()
    assert [(s["id"], s["original_name"]) for s in segments] == [(body["segment_id"], "main.mp4")]
    assert len(store_files(gw_home)) == 1  # one stored file, two segments

    # Again on Elm Row's camera: a duplicate, naming Elm Row's own segment.
    again = client.post("/api/v1/cameras/elm-gate/footage", params={"filename": "copy.mp4"}, content=data,
                        headers=elm)
    assert again.status_code == 201
    assert (again.json()["status"], again.json()["segment_id"], again.json()["camera"]) == \
        ("duplicate", body["segment_id"], "elm-gate")

    # The overlap rule still holds per camera: other content over Elm Row's span is refused, naming Elm's file.
    other = (footage_dir / "people_one_by_one.mp4").read_bytes()
    clash = client.post("/api/v1/cameras/elm-gate/footage",
                        params={"filename": "later.mp4", "start": "2024-12-01T08:00:05"}, content=other, headers=elm)
    assert clash.status_code == 422 and "main.mp4" in str(clash.json()["detail"]["error"])
