"""Footage lifecycle: retention, holds, shared store files, audit, status, and a purge killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import bearer, make_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import lifecycle
from api.auth import Principal
from api.cases import CaseError, RangeRequest, add_items, create_case, export_case
from api.models import AuditEntry, Role
from api.storage_status import storage_status
from detection.models import Event, Job, JobStatus
from footage.clips import cached_clip, sources_for
from footage.db import session_factory
from footage.models import Segment
from footage.retention import SegmentHeld
from footage.settings import get_settings
from tests.support_footage import import_clip, make_site_camera, store_files

NOW = datetime(2025, 1, 1, tzinfo=UTC)  # the clips are named 2024-11-07, so 30 days' retention expires them
ADMIN = Principal(user_id=0, name="test", role=Role.ADMIN, site_ids=None)


def _two_cameras(session: Session, footage_dir: Path, tmp_path: Path) -> tuple[int, int]:
    make_site_camera(session, "north-gate", site="Maple Court")
    make_site_camera(session, "east-gate", site="Oak Rise")
    a = import_clip(session, footage_dir, tmp_path / "a", "north-gate")
    b = import_clip(session, footage_dir, tmp_path / "b", "east-gate", clip="people_one_by_one.mp4")
    session.commit()
    assert a.segment_id and b.segment_id
    return a.segment_id, b.segment_id


def _segment_ids(session: Session) -> set[int]:
    session.expire_all()
    return set(session.scalars(select(Segment.id)).all())


@pytest.fixture
def any_db_session(gw_home_any_db: Path):  # type: ignore[no-untyped-def]
    session = session_factory()()
    yield session
    session.close()


def test_site_default_and_camera_retention_dry_run_and_audit(any_db_session: Session, footage_dir: Path,
                                                             tmp_path: Path, gw_home_any_db: Path) -> None:
    db = any_db_session
    seg_a, seg_b = _two_cameras(db, footage_dir, tmp_path)
    lifecycle.update_site(db, "Maple Court", 30, actor="test")
    before = store_files(gw_home_any_db)

    dry = lifecycle.run_purge(db, actor="test", dry_run=True, now=NOW)
    assert dry.segments == 1 and dry.bytes_removed > 0
    assert _segment_ids(db) == {seg_a, seg_b} and store_files(gw_home_any_db) == before
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "footage_purge")) is None

    report = lifecycle.run_purge(db, actor="test", now=NOW)
    # Only the site with a retention lost footage: the other site's camera (keep) is untouched.
    assert _segment_ids(db) == {seg_b} and report.segments == 1 and report.files_removed == 1
    assert len(store_files(gw_home_any_db)) == len(before) - 1
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "footage_purge")).all()
    assert entry.detail["segments"] == 1 and entry.detail["bytes_removed"] == report.bytes_removed

    # A camera's own retention overrides its site's default (keep).
    lifecycle.update_camera(db, "east-gate", actor="test", retain_days=30)
    assert lifecycle.run_purge(db, actor="test", now=NOW).segments == 1
    assert _segment_ids(db) == set() and store_files(gw_home_any_db) == []


def _cached_clip(session: Session, camera_id: str) -> Path:
    segment = session.scalars(select(Segment).where(Segment.camera_id == camera_id)).first()
    assert segment is not None
    start, end = segment.start + timedelta(seconds=1), segment.start + timedelta(seconds=4)
    clip = cached_clip(get_settings().clips_dir, sources_for(session, camera_id, start, end), start, end)
    return clip.path


def test_held_footage_survives_and_exports(any_db_session: Session, footage_dir: Path, tmp_path: Path,
                                           gw_home_any_db: Path) -> None:
    db = any_db_session
    seg_a, seg_b = _two_cameras(db, footage_dir, tmp_path)
    segment = db.get(Segment, seg_a)
    assert segment is not None
    case = create_case(db, ADMIN, "Burglary 7", ranges=[RangeRequest("north-gate", segment.start, segment.end)])
    db.commit()
    lifecycle.update_site(db, "Maple Court", 30, actor="test")
    lifecycle.update_site(db, "Oak Rise", 30, actor="test")
    held_clip, expired_clip = _cached_clip(db, "north-gate"), _cached_clip(db, "east-gate")
    dry = lifecycle.run_purge(db, actor="test", now=NOW, dry_run=True)
    assert [r["segment"] for r in dry.removed] == [seg_b] and [h["segment"] for h in dry.holds] == [seg_a]
    report = lifecycle.run_purge(db, actor="test", now=NOW)
    assert report.segments == 1 and report.holds[0]["cases"] == ["Burglary 7"] and report.clips_removed == 1
    assert _segment_ids(db) == {seg_a} and held_clip.exists() and not expired_clip.exists()
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "footage_purge")).all()
    assert entry.detail["segment_ids"] == [seg_b] and entry.detail["holds"][0]["cases"] == ["Burglary 7"]
    with pytest.raises(SegmentHeld):
        lifecycle.delete_segment(db, seg_a, "wrong upload", actor="test")
    result = export_case(db, case, tmp_path / "case.zip", exported_by="test")
    assert (tmp_path / "case.zip").stat().st_size > 0 and result is not None

    lifecycle.close_case(db, case, "trial over", actor="test")
    assert lifecycle.run_purge(db, actor="test", now=NOW).segments == 1
    assert seg_a not in _segment_ids(db)


def test_shared_store_file_survives_until_both_segments_go(db: Session, footage_dir: Path, tmp_path: Path,
                                                           gw_home: Path) -> None:
    make_site_camera(db, "north-gate", site="Maple Court")
    make_site_camera(db, "east-gate", site="Oak Rise")
    a = import_clip(db, footage_dir, tmp_path / "a", "north-gate")
    b = import_clip(db, footage_dir, tmp_path / "b", "east-gate")
    db.commit()
    [stored] = store_files(gw_home)
    lifecycle.update_camera(db, "north-gate", actor="test", retain_days=30)
    report = lifecycle.run_purge(db, actor="test", now=NOW)
    assert report.segments == 1 and report.bytes_removed == 0 and stored.exists()
    lifecycle.delete_segment(db, b.segment_id or 0, "wrong upload", actor="test")
    assert not stored.exists() and _segment_ids(db) == set()
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "segment_delete"))
    assert entry is not None and entry.detail["reason"] == "wrong upload" and a.segment_id


def test_status_matches_disk(db: Session, footage_dir: Path, tmp_path: Path, gw_home: Path) -> None:
    seg_a, seg_b = _two_cameras(db, footage_dir, tmp_path)
    lifecycle.update_camera(db, "north-gate", actor="test", retain_days=30)
    data = storage_status(db)
    rows = {row["camera"]: row for row in data["cameras"]}
    on_disk = sum(p.stat().st_size for p in store_files(gw_home))
    assert data["data"]["store_bytes"] == on_disk == rows["north-gate"]["bytes"] + rows["east-gate"]["bytes"]
    assert rows["north-gate"]["retain_days"] == 30 and rows["east-gate"]["retain_days"] is None
    assert any("east-gate" in w for w in data["warnings"])
    assert data["backlog"]["eta_s"] is None and data["backlog"]["hours"] > 0
    # A manager of one site sees only that site's cameras.
    [site_id] = {c.site_id for c in [db.get(Segment, seg_a).camera]}  # type: ignore[union-attr]
    mine = storage_status(db, frozenset({site_id}))
    assert [row["camera"] for row in mine["cameras"]] == ["north-gate"]
    assert seg_b


def _orphans(session: Session, home: Path) -> list[Path]:
    session.expire_all()
    referenced = {home / p for p in session.scalars(select(Segment.path)).all()}
    return [p for p in store_files(home) if p not in referenced and ".incoming" not in p.parts
            and not p.name.startswith(".purge")]


def test_purge_killed_mid_run_is_finished_by_the_next(db: Session, footage_dir: Path, tmp_path: Path,
                                                      gw_home: Path) -> None:
    seg_a, _ = _two_cameras(db, footage_dir, tmp_path)
    db.add(Event(camera_id="north-gate", segment_id=seg_a, label="car", start=NOW, end=NOW, score=0.9))
    db.add(Job(segment_id=seg_a, status=JobStatus.DONE))
    db.commit()
    lifecycle.update_camera(db, "north-gate", actor="test", retain_days=30)
    lifecycle.update_camera(db, "east-gate", actor="test", retain_days=30)
    env = {**os.environ, "GATEWATCH_PURGE_PAUSE_S": "60", "PYTHONPATH": str(Path(__file__).parents[1])}
    # The real clock is past the clips' dates plus 30 days, so the CLI's own "now" expires both.
    proc = subprocess.Popen([sys.executable, "-c", "from api.cli.main import app; app(['purge'])"], env=env)
    try:
        deadline = time.monotonic() + 60
        while _segment_ids(db) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _segment_ids(db) == set(), "the purge never committed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    # Killed between the commit and the unlinks: no event points at footage, but the files are still there.
    assert db.scalar(select(Event)) is None and db.scalar(select(Job)) is None
    assert _orphans(db, gw_home)
    lifecycle.run_purge(db, actor="test")
    assert _orphans(db, gw_home) == []
    assert json.loads(json.dumps(storage_status(db)))["data"]["store_bytes"] == 0


def test_api_status_edit_and_delete(client, footage_dir: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                    gw_home: Path, admin_headers: dict[str, str]) -> None:
    session = session_factory()()
    try:
        seg_a, seg_b = _two_cameras(session, footage_dir, tmp_path)
    finally:
        session.close()
    manager = bearer(make_user("manager", "mgr", ["Oak Rise"]))
    assert client.get("/api/v1/status", headers=manager).json()["cameras"][0]["camera"] == "east-gate"
    assert len(client.get("/api/v1/status", headers=manager).json()["cameras"]) == 1
    assert client.patch("/api/v1/cameras/east-gate", json={"retain_days": 7}, headers=manager).status_code == 403
    changed = client.patch("/api/v1/cameras/east-gate", json={"retain_days": 7, "gate": "East"},
                           headers=admin_headers)
    assert changed.status_code == 200 and changed.json()["retain_days"] == 7 and changed.json()["gate"] == "East"
    everything = client.get("/api/v1/status", headers=admin_headers).json()
    assert {row["camera"]: row["retain_days"] for row in everything["cameras"]} == {"east-gate": 7,
                                                                                   "north-gate": None}
    gone = client.delete(f"/api/v1/segments/{seg_b}", params={"reason": "wrong camera"}, headers=admin_headers)
    assert gone.status_code == 200
    assert client.delete(f"/api/v1/segments/{seg_b}", params={"reason": "again"},
                         headers=admin_headers).status_code == 404
    assert seg_a


def test_cli_settings_status_and_close(db: Session, footage_dir: Path, tmp_path: Path, gw_home: Path) -> None:
    from typer.testing import CliRunner

    from api.cli.main import app as cli_app

    seg_a, _ = _two_cameras(db, footage_dir, tmp_path)
    segment = db.get(Segment, seg_a)
    assert segment is not None
    create_case(db, ADMIN, "Burglary 8", ranges=[RangeRequest("north-gate", segment.start, segment.end)])
    db.commit()
    runner = CliRunner()
    assert runner.invoke(cli_app, ["sites", "set", "Maple Court", "--retain-days", "30"]).exit_code == 0
    edit = ["cameras", "set", "east-gate", "--retain-days", "9", "--gate", "East"]
    assert runner.invoke(cli_app, edit).exit_code == 0
    refused = runner.invoke(cli_app, ["segments", "delete", str(seg_a), "--reason", "oops"])
    assert refused.exit_code == 1 and seg_a in _segment_ids(db)
    status = json.loads(runner.invoke(cli_app, ["status", "--json"]).stdout)
    rows = {row["camera"]: row for row in status["cameras"]}
    assert rows["north-gate"]["retain_days"] == 30 and rows["east-gate"]["retain_days"] == 9
    assert rows["north-gate"]["held_bytes"] == segment.size_bytes
    assert runner.invoke(cli_app, ["status"]).exit_code == 0
    assert runner.invoke(cli_app, ["cases", "close", "Burglary 8", "--reason", "done"]).exit_code == 0
    assert runner.invoke(cli_app, ["segments", "delete", str(seg_a), "--reason", "oops"]).exit_code == 0
    assert seg_a not in _segment_ids(db)
    actions = set(db.scalars(select(AuditEntry.action)).all())
    assert {"site_update", "camera_update", "case_close", "segment_delete"} <= actions


def test_orphan_store_files_are_swept_after_the_grace_period(db: Session, footage_dir: Path, tmp_path: Path,
                                                             gw_home: Path) -> None:
    _two_cameras(db, footage_dir, tmp_path)
    [first, *_] = store_files(gw_home)
    orphan = first.parent / ("0" * 64 + ".mp4")
    fresh = first.parent / ("1" * 64 + ".mp4")
    orphan.write_bytes(b"left by a crash")
    fresh.write_bytes(b"an import about to commit")
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    lifecycle.run_purge(db, actor="test")
    assert not orphan.exists() and fresh.exists() and first.exists()


def test_status_of_a_manager_is_their_sites_only(db: Session, footage_dir: Path, tmp_path: Path,
                                                 gw_home: Path) -> None:
    seg_a, seg_b = _two_cameras(db, footage_dir, tmp_path)
    east = db.get(Segment, seg_b)
    assert east is not None
    create_case(db, ADMIN, "Hit and run", ranges=[RangeRequest("east-gate", east.start, east.end)])
    db.commit()
    lifecycle.update_site(db, "Maple Court", 30, actor="test")
    lifecycle.update_camera(db, "east-gate", actor="test", retain_days=30)
    north_clip, east_clip = _cached_clip(db, "north-gate"), _cached_clip(db, "east-gate")
    oak = east.camera.site_id

    mine = storage_status(db, frozenset({oak}), now=NOW)
    [row] = mine["cameras"]
    on_disk = next(p for p in store_files(gw_home) if p.name.startswith(east.sha256))
    assert row["camera"] == "east-gate" and mine["scope"] == "sites"
    assert mine["data"]["store_bytes"] == on_disk.stat().st_size == east.size_bytes
    clip_bytes = east_clip.stat().st_size + east_clip.with_suffix(".json").stat().st_size
    assert mine["data"]["clip_cache_bytes"] == clip_bytes and mine["data"]["total_bytes"] is None
    assert row["held_segments"] == 1 and row["held_cases"] == 1 and row["held_by"] == []
    assert row["purge_due"]["segments"] == 0 and row["retention_from"] == "camera"
    assert mine["sites"] == [{"site": "Oak Rise", "retain_days": None, "cameras": 1, "hours": row["hours"],
                              "bytes": east.size_bytes, "held_bytes": east.size_bytes, "purge_due_bytes": 0}]

    everything = storage_status(db, now=NOW)
    rows = {r["camera"]: r for r in everything["cameras"]}
    north = db.get(Segment, seg_a)
    assert north is not None
    assert everything["data"]["store_bytes"] == sum(p.stat().st_size for p in store_files(gw_home))
    assert everything["data"]["clip_cache_bytes"] == clip_bytes + north_clip.stat().st_size \
        + north_clip.with_suffix(".json").stat().st_size
    assert everything["data"]["total_bytes"] > everything["data"]["free_bytes"] >= everything["data"]["room_bytes"]
    assert rows["east-gate"]["held_by"] == ["Hit and run"]
    # What the status says the next purge deletes is what the purge deletes.
    due = rows["north-gate"]["purge_due"]
    assert due["segments"] == 1 and due["bytes"] == north.size_bytes and everything["next_purge"]["segments"] == 1
    assert rows["north-gate"]["oldest"].endswith("+08:00") and rows["north-gate"]["retention_from"] == "site"
    report = lifecycle.run_purge(db, actor="test", now=NOW)
    assert [r["segment"] for r in report.removed] == [seg_a] and report.bytes_removed == due["bytes"]
    after = storage_status(db, now=NOW)
    assert after["next_purge"]["segments"] == 0 and after["next_purge"]["last_run"] is not None


def test_api_site_retention_holds_and_case_close(client, footage_dir: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                 gw_home: Path, admin_headers: dict[str, str]) -> None:
    session = session_factory()()
    try:
        seg_a, _ = _two_cameras(session, footage_dir, tmp_path)
        segment = session.get(Segment, seg_a)
        assert segment is not None
        case = create_case(session, ADMIN, "Theft 3", ranges=[RangeRequest("north-gate", segment.start, segment.end)])
        session.commit()
        case_id = case.id
    finally:
        session.close()
    [site] = [s for s in client.get("/api/v1/sites", headers=admin_headers).json() if s["name"] == "Maple Court"]
    assert site["retain_days"] is None
    changed = client.patch(f"/api/v1/sites/{site['id']}", json={"retain_days": 14}, headers=admin_headers)
    assert changed.status_code == 200 and changed.json()["retain_days"] == 14
    assert client.patch(f"/api/v1/sites/{site['id']}", json={"retain_days": 0},
                        headers=admin_headers).status_code == 422
    cameras = {c["id"]: c for c in client.get("/api/v1/cameras", headers=admin_headers).json()}
    assert cameras["north-gate"]["retain_days"] is None and cameras["north-gate"]["effective_retain_days"] == 14
    assert cameras["east-gate"]["effective_retain_days"] is None
    held = client.delete(f"/api/v1/segments/{seg_a}", params={"reason": "wrong"}, headers=admin_headers)
    assert held.status_code == 409 and "Theft 3" in held.json()["detail"]
    closed = client.post(f"/api/v1/cases/{case_id}/close", json={"reason": "court done"}, headers=admin_headers)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    gone = client.delete(f"/api/v1/segments/{seg_a}", params={"reason": "wrong"}, headers=admin_headers)
    assert gone.status_code == 200 and gone.json()["reason"] == "wrong"
    cleared = client.patch(f"/api/v1/sites/{site['id']}", json={"retain_days": None}, headers=admin_headers)
    assert cleared.status_code == 200 and cleared.json()["retain_days"] is None


def test_upload_without_a_start_is_told_to_use_the_page(client, footage_dir: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                        gw_home: Path, admin_headers: dict[str, str]) -> None:
    session = session_factory()()
    try:
        make_site_camera(session, "north-gate", site="Maple Court")
    finally:
        session.close()
    body = (footage_dir / "street_topdown_traffic.mp4").read_bytes()  # no creation time inside
    refused = client.post("/api/v1/cameras/north-gate/footage", params={"filename": "gate export.mp4"},
                          content=body, headers=admin_headers)
    assert refused.status_code == 422
    error = refused.json()["detail"]["error"]
    assert "no start time" in error and "Start time box" in error and "gatewatch import" not in error


def test_an_event_holds_the_footage_its_pre_roll_needs_and_a_closed_case_takes_no_more(
        db: Session, footage_dir: Path, tmp_path: Path, gw_home: Path) -> None:
    make_site_camera(db, "north-gate", site="Maple Court")
    # Two files back to back: the event is 1 s into the second, so a 10 s pre-roll lies in the first.
    first = import_clip(db, footage_dir, tmp_path / "a", "north-gate", clip="street_topdown_traffic.mp4",
                        nvr_name="ch01_20241107052000.mp4")
    second = import_clip(db, footage_dir, tmp_path / "b", "north-gate", nvr_name="ch01_20241107052021.mp4")
    db.commit()
    later = db.get(Segment, second.segment_id)
    assert later is not None and first.segment_id
    event = Event(camera_id="north-gate", segment_id=later.id, label="car", start=later.start + timedelta(seconds=1),
                  end=later.start + timedelta(seconds=3), score=0.9)
    db.add(event)
    db.commit()
    case = create_case(db, ADMIN, "Stolen van", event_ids=[event.id])
    db.commit()
    lifecycle.update_site(db, "Maple Court", 30, actor="test")
    report = lifecycle.run_purge(db, actor="test", now=NOW)
    assert report.segments == 0 and sorted(h["segment"] for h in report.holds) == [first.segment_id, later.id]
    result = export_case(db, case, tmp_path / "van.zip", exported_by="test", pre_s=10)
    assert result.missing == [] and result.clips == 1
    [clip] = result.manifest["clips"]
    assert datetime.fromisoformat(clip["start"]) < later.start, "the pre-roll comes from the first file"

    lifecycle.close_case(db, case, "recovered", actor="test")
    with pytest.raises(CaseError, match="closed"):
        add_items(db, ADMIN, case, event_ids=[event.id])
    assert lifecycle.run_purge(db, actor="test", now=NOW).segments == 2


def test_backlog_longer_than_a_night_warns(db: Session, footage_dir: Path, tmp_path: Path, gw_home: Path) -> None:
    seg_a, seg_b = _two_cameras(db, footage_dir, tmp_path)
    done = db.get(Segment, seg_a)
    assert done is not None
    # A slow machine: 20 s of footage took two days to index, so the 139 s still waiting take a fortnight.
    db.add(Job(segment_id=seg_a, status=JobStatus.DONE, started_at=NOW, finished_at=NOW + timedelta(days=2)))
    done.status = "indexed"
    db.commit()
    data = storage_status(db)
    waiting = db.get(Segment, seg_b)
    assert waiting is not None
    assert data["backlog"]["hours"] == round(waiting.duration_s / 3600, 4)
    assert data["backlog"]["eta_s"] == pytest.approx(waiting.duration_s / (done.duration_s / (2 * 86400)))
    assert any("longer than a night" in w for w in data["warnings"])


def test_the_daily_purge_counts_from_the_last_purge(db: Session, gw_home: Path) -> None:
    # The service checks hourly and purges when the audit trail's last purge is a day old, so restarts do not
    # postpone it for ever.
    assert lifecycle.purge_due(db, 86400)
    lifecycle.run_purge(db, actor="service")
    last = lifecycle.last_purge(db)
    assert last is not None and not lifecycle.purge_due(db, 86400)
    assert lifecycle.purge_due(db, 86400, now=last + timedelta(hours=24))
    assert storage_status(db)["next_purge"]["due_by"] == (last + timedelta(hours=24)).astimezone(UTC).isoformat()


@pytest.mark.slow
def test_purge_killed_as_soon_as_it_journals_leaves_nothing_dangling(db: Session, footage_dir: Path,
                                                                     tmp_path: Path, gw_home: Path) -> None:
    """SIGKILL the real `gatewatch purge` the moment its journal appears (before or just after its commit): every
    segment left still has its file, and the next purge finishes the work with no orphan files."""
    make_site_camera(db, "north-gate", site="Maple Court")
    make_site_camera(db, "east-gate", site="Oak Rise")
    lifecycle.update_site(db, "Maple Court", 30, actor="test")
    lifecycle.update_site(db, "Oak Rise", 30, actor="test")
    journal = gw_home / "store" / ".purge-pending.json"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    caught = 0
    for attempt in range(3):
        import_clip(db, footage_dir, tmp_path / f"a{attempt}", "north-gate")
        import_clip(db, footage_dir, tmp_path / f"b{attempt}", "east-gate", clip="people_one_by_one.mp4")
        db.commit()
        proc = subprocess.Popen([sys.executable, "-c", "from api.cli.main import app; app(['purge'])"], env=env)
        try:
            while proc.poll() is None and not journal.exists():
                time.sleep(0.001)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                caught += 1
        finally:
            proc.wait(timeout=30)
        db.expire_all()
        for segment in db.scalars(select(Segment)):
            assert (gw_home / segment.path).exists(), f"segment {segment.id} lost its file"
        lifecycle.run_purge(db, actor="test")
        assert _segment_ids(db) == set() and _orphans(db, gw_home) == [] and not journal.exists()
    assert caught, "the purge always finished before it could be killed"


def test_status_warns_when_no_room_is_left_for_uploads(db: Session, gw_home: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert storage_status(db)["data"]["room_bytes"] > 0
    monkeypatch.setenv("GATEWATCH_DISK_RESERVE_BYTES", str(10**18))  # a reserve larger than any disk
    get_settings.cache_clear()
    data = storage_status(db, frozenset())
    assert data["data"]["room_bytes"] == 0 and data["cameras"] == []
    assert any("no room is left for uploads" in w and "administrator" in w for w in data["warnings"])
