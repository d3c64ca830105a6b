"""Bad input from the issue: each gets a clear error, nothing half-stored, and the service keeps answering.

Rotated, variable-frame-rate and 48x48 rawvideo files are not bad: they are accepted with the right times.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support_footage import ffmpeg_exe, make_site_camera, no_indexing_workers, store_files  # noqa: F401

from footage.db import session_scope
from footage.probe import ProbeTimedOut, probe

PARKING = "parking_aisle_car_detection.mp4"


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory, footage_dir: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    files = {"zero bytes": folder / "ch01_20241107050000.mp4"}
    files["zero bytes"].write_bytes(b"")
    files["text named .mp4"] = folder / "ch01_20241107051000.mp4"
    files["text named .mp4"].write_text("Hikvision export log\nchannel 1 OK\n" * 50)
    whole = (footage_dir / PARKING).read_bytes()
    files["MP4 cut at half"] = folder / "ch01_20241107052000.mp4"
    files["MP4 cut at half"].write_bytes(whole[: len(whole) // 2])
    files["audio only"] = folder / "ch01_20241107053000.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:a", "aac", str(files["audio only"]))
    return files


@pytest.fixture
def camera(gw_home: Path) -> str:
    with session_scope() as session:
        make_site_camera(session)
    return "north-gate"


@pytest.mark.parametrize(("case", "message"), [
    ("zero bytes", "is empty (0 bytes)"),
    ("text named .mp4", "is not a video file"),
    ("MP4 cut at half", "cut short"),
    ("audio only", "holds only audio, no video"),
])
def test_bad_files_are_refused_clearly_and_leave_nothing(client: TestClient, admin_headers: dict, camera: str,
                                                         bad_files: dict[str, Path], gw_home: Path, case: str,
                                                         message: str) -> None:
    path = bad_files[case]
    single = client.post(f"/api/v1/cameras/{camera}/footage", params={"filename": path.name},
                         content=path.read_bytes(), headers=admin_headers)
    assert single.status_code == 422, single.text
    detail = single.json()["detail"]
    assert detail["status"] == "refused" and detail["segment_id"] is None
    assert message in detail["error"]
    assert detail["error"].startswith(path.name), "the error names the user's file, not a staging file"
    assert store_files(gw_home) == []
    assert not list((gw_home / "uploads").glob("*.part"))
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get(f"/api/v1/cameras/{camera}/segments", headers=admin_headers).json() == []


def test_a_truncated_resumable_upload_is_refused_and_cleaned_up(client: TestClient, admin_headers: dict,
                                                                camera: str, bad_files: dict[str, Path],
                                                                gw_home: Path) -> None:
    data = bad_files["MP4 cut at half"].read_bytes()
    name = base64.b64encode(b"ch01_20241107052000.mp4").decode()
    location = client.post(f"/api/v1/cameras/{camera}/uploads", headers={
        **admin_headers, "Upload-Length": str(len(data)), "Upload-Metadata": f"filename {name}"}).headers["Location"]
    done = client.patch(location, content=data, headers={
        **admin_headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert done.status_code == 204
    result = client.get(location, headers=admin_headers).json()["result"]
    assert result["status"] == "refused" and "cut short" in result["error"]
    assert result["error"].startswith("ch01_20241107052000.mp4")
    assert store_files(gw_home) == []
    assert not list((gw_home / "uploads").glob("*.part"))


@pytest.mark.parametrize("name", ["../../etc/cron.d/x.mp4", "/etc/passwd", "a/b.mp4", "..\\..\\x.mp4", "..",
                                  "C:evil.mp4", "bad\x01name.mp4", "   ", ""])
def test_paths_and_control_characters_in_upload_names_get_422(client: TestClient, admin_headers: dict,
                                                              camera: str, footage_dir: Path, gw_home: Path,
                                                              name: str) -> None:
    data = (footage_dir / PARKING).read_bytes()
    single = client.post(f"/api/v1/cameras/{camera}/footage", params={"filename": name}, content=data,
                         headers=admin_headers)
    assert single.status_code == 422, single.text
    assert "name" in single.json()["detail"]
    encoded = base64.b64encode(name.encode()).decode()
    tus = client.post(f"/api/v1/cameras/{camera}/uploads", headers={
        **admin_headers, "Upload-Length": str(len(data)), "Upload-Metadata": f"filename {encoded}"})
    assert tus.status_code == 422
    assert store_files(gw_home) == []
    assert not list((gw_home / "uploads").glob("*"))
    assert client.get("/healthz").status_code == 200


def test_awkward_but_valid_files_are_accepted_with_the_right_times(client: TestClient, admin_headers: dict,
                                                                   camera: str, footage_dir: Path,
                                                                   tmp_path: Path) -> None:
    rotated = tmp_path / "rotated.mp4"
    ffmpeg("-display_rotation", "90", "-i", str(footage_dir / PARKING), "-c", "copy", "-t", "3", str(rotated))
    uploads = [
        (rotated, "ch01_20241107060000.mp4", {}, "2024-11-07T06:00:03.040+08:00"),
        (footage_dir / "motorway_traffic_camera_vfr.mp4", "ch01_20241107061000.mp4", {},
         "2024-11-07T06:10:34.560+08:00"),
        # The 48x48 rawvideo crashes opencv-python; the probe reads it in a child process with PyAV.
        (footage_dir / "tiny_48x48_rawvideo.avi", "demo.avi", {"start": "2024-11-07T06:20:00+08:00"},
         "2024-11-07T06:20:03.400+08:00"),
    ]
    for path, name, extra, end in uploads:
        response = client.post(f"/api/v1/cameras/{camera}/footage", params={"filename": name, **extra},
                               content=path.read_bytes(), headers=admin_headers)
        assert response.status_code == 201, response.text
        assert response.json()["end"] == end
    segments = client.get(f"/api/v1/cameras/{camera}/segments", headers=admin_headers).json()
    assert [(s["codec"], s["width"], s["height"]) for s in segments] == [
        ("h264", 768, 432), ("h264", 1280, 720), ("rawvideo", 48, 48)]


def test_a_probe_that_hangs_is_given_up(footage_dir: Path) -> None:
    with pytest.raises(ProbeTimedOut, match="took longer than"):
        probe(footage_dir / PARKING, timeout_s=0.01)
