"""Importing real clips under NVR names: times, content-addressed storage, duplicates, overlaps, the CLI."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from support_footage import import_clip, make_site_camera, nvr_copy, store_files
from typer.testing import CliRunner

from api.ingest import import_paths, load_site_config
from api.models import AuditEntry
from detection.models import Job
from footage.catalogue import CatalogueError, add_camera, list_segments, parse_zone
from footage.db import session_factory
from footage.models import Segment

REPO = Path(__file__).resolve().parents[1]
PARKING = "parking_aisle_car_detection.mp4"


@pytest.fixture
def session(gw_home_any_db: Path):  # type: ignore[no-untyped-def]
    session = session_factory()()
    try:
        yield session
    finally:
        session.close()


def test_nvr_named_clips_import_with_their_times(session, gw_home_any_db: Path, footage_dir: Path,
                                                 tmp_path: Path) -> None:
    make_site_camera(session)
    exports = tmp_path / "exports"
    nvr_copy(footage_dir, PARKING, exports, "ch01_20241107053000.mp4")
    dahua = "2024-11-07/001/dav/05/05.40.00-05.41.15[R][0@0][0].mp4"
    nvr_copy(footage_dir, "street_sparse_traffic.mp4", exports, dahua)
    nvr_copy(footage_dir, "people_one_by_one.mp4", exports, "20241107/S06-10-00E06-12-19.mp4")
    (exports / "index00.bin").write_bytes(b"recorder index, not video")  # skipped by the folder walk

    results = import_paths(session, [exports], "north-gate", actor="test")

    by_name = {Path(r.path).name: r for r in results}
    assert [r.status for r in results] == ["imported"] * 3
    parking = by_name["ch01_20241107053000.mp4"].to_dict()
    assert parking["start"] == "2024-11-07T05:30:00+08:00"
    assert parking["end"] == "2024-11-07T05:30:30.160+08:00"
    assert by_name["05.40.00-05.41.15[R][0@0][0].mp4"].to_dict()["start"] == "2024-11-07T05:40:00+08:00"
    assert by_name["S06-10-00E06-12-19.mp4"].to_dict()["end"] == "2024-11-07T06:12:19.400+08:00"

    segments = list_segments(session, "north-gate")
    assert [s.start_source for s in segments] == ["file name"] * 3
    parking_segment = session.get(Segment, by_name["ch01_20241107053000.mp4"].segment_id)
    stored = gw_home_any_db / parking_segment.path
    assert not Path(parking_segment.path).is_absolute()
    assert stored.read_bytes() == (footage_dir / PARKING).read_bytes()
    sha = hashlib.sha256(stored.read_bytes()).hexdigest()
    assert parking_segment.sha256 == sha == parking["sha256"]
    assert parking_segment.path == f"store/{sha[:2]}/{sha}.mp4"
    assert parking_segment.fps == pytest.approx(12.5)
    assert parking_segment.width == 768
    vfr = session.get(Segment, by_name["05.40.00-05.41.15[R][0@0][0].mp4"].segment_id)
    assert vfr.variable_frame_rate is True

    # Each imported segment is queued for indexing and each file is in the audit trail.
    jobs = session.scalars(select(Job)).all()
    assert sorted(j.segment_id for j in jobs) == sorted(s.id for s in segments)
    assert {s.status for s in segments} == {"queued"}
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "import")).all()
    assert len(audit) == 3 and all(a.user_name == "test" for a in audit)


def test_the_same_file_twice_is_stored_once(session, gw_home_any_db: Path, footage_dir: Path,
                                            tmp_path: Path) -> None:
    make_site_camera(session)
    first = import_clip(session, footage_dir, tmp_path / "a")
    # The same bytes under another name (and another start) are still the same footage.
    second = import_clip(session, footage_dir, tmp_path / "b", nvr_name="copy/ch01_20241108090000.mp4")

    assert first.status == "imported"
    assert second.status == "duplicate"
    assert second.segment_id == first.segment_id
    assert second.to_dict()["start"] == "2024-11-07T05:30:00+08:00"
    assert len(session.scalars(select(Segment)).all()) == 1
    assert len(session.scalars(select(Job)).all()) == 1
    assert [p.name for p in store_files(gw_home_any_db)] == [f"{first.sha256}.mp4"]


def test_an_overlapping_segment_is_refused_naming_the_other(session, gw_home_any_db: Path, footage_dir: Path,
                                                            tmp_path: Path) -> None:
    make_site_camera(session)
    first = import_clip(session, footage_dir, tmp_path)
    # Starts 10 s into the first one (which runs 30.16 s): 20 s shared.
    clash = import_clip(session, footage_dir, tmp_path, clip="street_topdown_traffic.mp4",
                        nvr_name="ch01_20241107053010.mp4")
    assert clash.status == "refused"
    assert f"segment {first.segment_id} 'ch01_20241107053000.mp4'" in clash.error
    assert "2024-11-07T05:30:00+08:00 to 2024-11-07T05:30:30.160+08:00" in clash.error
    assert "--start" in clash.error
    assert clash.segment_id is None
    assert len(store_files(gw_home_any_db)) == 1

    # Touching within the 2 s tolerance is fine (recorders cut files on their own clock).
    touching = import_clip(session, footage_dir, tmp_path, clip="street_topdown_traffic.mp4",
                           nvr_name="ch01_20241107053029.mp4")
    assert touching.status == "imported"


def test_start_falls_back_to_creation_time_then_refuses(session, footage_dir: Path, tmp_path: Path) -> None:
    make_site_camera(session, clock_offset_s=-30)
    by_creation = import_clip(session, footage_dir, tmp_path, nvr_name="export.mp4")
    # creation_time 2018-04-19T22:46:00Z, and the recorder's clock runs 30 s fast.
    assert by_creation.start == datetime(2018, 4, 19, 22, 45, 30, tzinfo=UTC)
    assert session.get(Segment, by_creation.segment_id).start_source == "creation_time"

    nothing = import_clip(session, footage_dir, tmp_path, clip="motorway_traffic_camera.mp4", nvr_name="clip.mp4")
    assert nothing.status == "refused"
    assert "no start time" in nothing.error and "--start 2024-11-07T05:00:00+08:00" in nothing.error

    stated = import_clip(session, footage_dir, tmp_path, clip="motorway_traffic_camera.mp4", nvr_name="clip.mp4",
                         start="2024-11-07T07:00:00")
    # A stated start is read in the camera's zone and not corrected by the clock offset.
    assert stated.to_dict()["start"] == "2024-11-07T07:00:00+08:00"
    assert stated.end - stated.start == timedelta(seconds=23.04)


def test_a_malformed_start_or_unknown_camera_is_an_error(session, footage_dir: Path, tmp_path: Path) -> None:
    make_site_camera(session)
    clip = nvr_copy(footage_dir, PARKING, tmp_path, "a.mp4")
    with pytest.raises(CatalogueError, match="not an ISO 8601 time"):
        import_paths(session, [clip], "north-gate", "yesterday morning")
    with pytest.raises(CatalogueError, match="not a plausible recording time"):
        import_paths(session, [clip], "north-gate", "9999-12-31T23:59:59-23:59")
    with pytest.raises(CatalogueError, match="no camera 'east'"):
        import_paths(session, [clip], "east")


def test_cameras_validate_time_zone_and_zones(session) -> None:
    make_site_camera(session)
    with pytest.raises(CatalogueError, match="unknown time zone 'Mars/Olympus'"):
        add_camera(session, "c2", "Maple Court", "East gate", "Mars/Olympus")
    with pytest.raises(CatalogueError, match="at least 3"):
        parse_zone("barrier=0.1,0.1;0.2,0.2")
    with pytest.raises(CatalogueError, match="outside the frame"):
        parse_zone("barrier=0.1,0.1;0.2,0.2;1.5,0.3")
    with pytest.raises(CatalogueError, match="is not 'x,y'"):
        parse_zone("barrier=0.1;0.2,0.2;0.3,0.3")
    with pytest.raises(CatalogueError, match="no site named 'Elm Row'"):
        add_camera(session, "c3", "Elm Row", "East gate")
    assert parse_zone("barrier=0.1,0.5;0.6,0.5;0.6,0.9") == ("barrier", [[0.1, 0.5], [0.6, 0.5], [0.6, 0.9]])


def test_site_config_creates_once_and_points_at_the_footage(session) -> None:
    first = load_site_config(session, REPO / "samples" / "site.json")
    again = load_site_config(session, REPO / "samples" / "site.json")
    assert first.site == "Maple Court" and first.site_created and not again.site_created
    assert [c.camera_id for c in first.cameras] == ["north-gate", "south-gate", "lobby"]
    assert all(c.created for c in first.cameras) and not any(c.created for c in again.cameras)
    for camera in first.cameras:
        assert camera.footage is not None and any(camera.footage.rglob("*.mp4"))
    results = import_paths(session, [first.cameras[0].footage], "north-gate", actor="test")
    assert [r.to_dict()["start"] for r in results] == ["2024-11-07T05:30:00+08:00"]


def test_cli_prints_json_lines_and_fails_when_a_file_is_refused(gw_home: Path, footage_dir: Path,
                                                                 tmp_path: Path) -> None:
    from api.cli.main import app

    runner = CliRunner()
    assert runner.invoke(app, ["sites", "add", "Maple Court"]).exit_code == 0
    added = runner.invoke(app, ["cameras", "add", "north-gate", "--site", "Maple Court", "--gate", "North gate",
                                "--timezone", "Asia/Shanghai", "--zone", "barrier=0.1,0.5;0.6,0.5;0.6,0.9",
                                "--json"])
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["zones"] == {"barrier": [[0.1, 0.5], [0.6, 0.5], [0.6, 0.9]]}

    clip = nvr_copy(footage_dir, PARKING, tmp_path, "ch01_20241107053000.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n")
    run = runner.invoke(app, ["import", str(clip), str(text), "--camera", "north-gate", "--json"])
    assert run.exit_code == 1
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(x["path"], x["status"]) for x in lines] == [(str(clip), "imported"), (str(text), "refused")]
    assert lines[0]["start"] == "2024-11-07T05:30:00+08:00"
    assert set(lines[0]) == {"path", "status", "segment_id", "camera", "start", "end", "sha256", "error"}
    assert "not a video file" in lines[1]["error"]

    again = runner.invoke(app, ["import", str(clip), "--camera", "north-gate", "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["status"] == "duplicate"

    listed = runner.invoke(app, ["cameras", "list", "--json"])
    assert [c["id"] for c in json.loads(listed.stdout)] == ["north-gate"]
    sites = runner.invoke(app, ["sites", "list", "--json"])
    assert [(s["name"], s["cameras"]) for s in json.loads(sites.stdout)] == [("Maple Court", ["north-gate"])]
    unknown = runner.invoke(app, ["import", str(clip), "--camera", "east"])
    assert unknown.exit_code == 1 and "no camera 'east'" in unknown.stderr
