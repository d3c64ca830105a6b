"""Footage lifecycle: retention, holds, shared store files, audit, status, and a purge killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import bearer, make_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import lifecycle
from api.auth import Principal
from api.cases import RangeRequest, create_case, export_case
from api.models import AuditEntry, Role
from api.storage_status import storage_status
from detection.models import Event, Job, JobStatus
from footage.db import session_factory
from footage.models import Segment
from footage.retention import SegmentHeld
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


def test_held_footage_survives_and_exports(db: Session, footage_dir: Path, tmp_path: Path, gw_home: Path) -> None:
    seg_a, _ = _two_cameras(db, footage_dir, tmp_path)
    segment = db.get(Segment, seg_a)
    assert segment is not None
    case = create_case(db, ADMIN, "Burglary 7", ranges=[RangeRequest("north-gate", segment.start, segment.end)])
    db.commit()
    lifecycle.update_site(db, "Maple Court", 30, actor="test")
    report = lifecycle.run_purge(db, actor="test", now=NOW)
    assert report.segments == 0 and report.holds[0]["cases"] == ["Burglary 7"]
    assert seg_a in _segment_ids(db)
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
