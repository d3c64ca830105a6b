"""The job table as a queue, on SQLite and on the real PostgreSQL: queueing, exclusive claims, leases, attempts,
and the one-transaction replacement of a segment's events."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from detection.jobs import (
    JobLost,
    claim_job,
    complete_job,
    fail_attempt,
    heartbeat,
    jobs_to_dispatch,
    list_jobs,
    mark_dispatched,
    pending_segments,
    queue_segments,
    release_job,
    requeue_expired,
)
from detection.models import Event, EventThumbnail, Job, JobStatus
from footage.db import session_factory, session_scope, utcnow
from footage.models import Segment, SegmentStatus
from tests.support_jobs import T0, add_segment, make_camera


@pytest.fixture
def two_segments(gw_home_any_db: Path, footage_dir: Path) -> list[int]:
    make_camera("north-gate")
    return [
        add_segment(gw_home_any_db, "north-gate", footage_dir / "street_topdown_traffic.mp4", T0),
        add_segment(gw_home_any_db, "north-gate", footage_dir / "traffic_1080p_short.mp4", T0 + timedelta(hours=1)),
    ]


def _queue(ids: list[int]) -> list[int]:
    with session_scope() as session:
        return [job.id for job in queue_segments(session, ids)]


def _event(segment_id: int, label: str, offset_s: float) -> Event:
    return Event(camera_id="north-gate", segment_id=segment_id, label=label, start=T0 + timedelta(seconds=offset_s),
                 end=T0 + timedelta(seconds=offset_s + 2), score=0.8, zones=[], track=[])


def test_pending_then_queue_once_per_segment(two_segments: list[int]) -> None:
    with session_scope() as session:
        assert pending_segments(session) == two_segments
        assert pending_segments(session, since=T0 + timedelta(minutes=30)) == two_segments[1:]
        assert pending_segments(session, until=T0 + timedelta(minutes=30)) == two_segments[:1]
        assert pending_segments(session, camera="other") == []
    first = _queue(two_segments)
    assert len(first) == 2
    assert _queue(two_segments) == []  # already queued: nothing twice
    with session_scope() as session:
        statuses = {s.status for s in session.scalars(select(Segment))}
        assert statuses == {SegmentStatus.QUEUED}
        session.get(Segment, two_segments[0]).status = SegmentStatus.INDEXED
    with session_scope() as session:
        assert pending_segments(session) == two_segments[1:]
        assert pending_segments(session, reindex=True) == two_segments


def test_two_claimers_one_winner(two_segments: list[int]) -> None:
    [job_id] = _queue(two_segments[:1])
    barrier = threading.Barrier(2)
    wins: list[object] = []

    def claimer(name: str) -> None:
        session = session_factory()()
        try:
            barrier.wait()
            claimed = claim_job(session, name, lease_s=60)
            session.commit()
            wins.append(claimed)
        finally:
            session.close()

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [c for c in wins if c is not None]
    assert len(claimed) == 1 and claimed[0].job_id == job_id and claimed[0].attempt == 1
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job.status == JobStatus.RUNNING and job.attempts == 1 and job.worker in {"w0", "w1"}
        assert job.lease_until > utcnow()
        assert session.get(Segment, job.segment_id).status == SegmentStatus.INDEXING
        assert claim_job(session, "w2", lease_s=60) is None


def test_claim_respects_job_id_filter(two_segments: list[int]) -> None:
    _first, second = _queue(two_segments)
    with session_scope() as session:
        claimed = claim_job(session, "w", lease_s=60, job_ids=[second])
        assert claimed is not None and claimed.job_id == second
        assert claim_job(session, "w", lease_s=60, job_ids=[second]) is None
        assert claim_job(session, "w", lease_s=60, job_ids=[]) is None


def test_expired_lease_requeues_then_fails_after_max_attempts(two_segments: list[int]) -> None:
    [job_id] = _queue(two_segments[:1])
    with session_scope() as session:
        session.get(Job, job_id).max_attempts = 2
    for attempt in (1, 2):
        with session_scope() as session:
            claimed = claim_job(session, f"dead-{attempt}", lease_s=0.05)
            assert claimed is not None and claimed.attempt == attempt
        with session_scope() as session:
            assert requeue_expired(session) == []  # lease still alive
        with session_scope() as session:
            assert requeue_expired(session, now=utcnow() + timedelta(seconds=1)) == [job_id]
        with session_scope() as session:
            # A heartbeat from the dead worker, arriving late, does not win the job back.
            assert not heartbeat(session, job_id, f"dead-{attempt}", progress=0.5, lease_s=60)
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job.status == JobStatus.FAILED
        assert "attempt 2 of 2" in job.error and "dead-2" in job.error and "lease expired" in job.error
        segment = session.get(Segment, job.segment_id)
        assert segment.status == SegmentStatus.FAILED and segment.error == job.error
        # A failed segment is not pending any more; it does not block the next job.
        assert pending_segments(session) == two_segments[1:]


def test_failed_attempts_are_bounded_and_the_queue_moves_on(two_segments: list[int]) -> None:
    bad, good = _queue(two_segments)
    for attempt in range(1, 4):
        with session_scope() as session:
            claimed = claim_job(session, "w", lease_s=60)
            assert claimed is not None and claimed.job_id == bad and claimed.attempt == attempt
            job = fail_attempt(session, bad, "w", "InvalidDataError: moov atom not found")
            assert job.status == (JobStatus.FAILED if attempt == 3 else JobStatus.QUEUED)
    with session_scope() as session:
        assert session.get(Job, bad).error == "attempt 3 of 3: InvalidDataError: moov atom not found"
        claimed = claim_job(session, "w", lease_s=60)
        assert claimed is not None and claimed.job_id == good


def test_heartbeat_renews_and_release_does_not_count_the_attempt(two_segments: list[int]) -> None:
    [job_id] = _queue(two_segments[:1])
    with session_scope() as session:
        claim_job(session, "w", lease_s=1)
    with session_scope() as session:
        assert heartbeat(session, job_id, "w", progress=0.25, lease_s=120)
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job.progress == 0.25 and job.lease_until > utcnow() + timedelta(seconds=100)
        assert not heartbeat(session, job_id, "someone-else", progress=0.3, lease_s=120)
    with session_scope() as session:
        assert release_job(session, job_id, "w")
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job.status == JobStatus.QUEUED and job.attempts == 0 and job.worker is None


def test_complete_replaces_events_in_one_transaction(two_segments: list[int]) -> None:
    segment_id = two_segments[0]
    [job_id] = _queue([segment_id])
    with session_scope() as session:
        claim_job(session, "w", lease_s=60)
        complete_job(session, job_id, "w", [_event(segment_id, "car", 1), _event(segment_id, "person", 5)],
                     [b"\xff\xd8jpeg", None], {"duration_s": 20.0})
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 2
        assert session.scalar(select(func.count()).select_from(EventThumbnail)) == 1
        job = session.get(Job, job_id)
        assert job.status == JobStatus.DONE and job.stats["events"] == 2 and job.progress == 1.0
        assert session.get(Segment, segment_id).status == SegmentStatus.INDEXED

    [again] = _queue([segment_id])
    # The finishing transaction fails half-way (after the old events are deleted): nothing of it lands.
    with pytest.raises(JobLost), session_scope() as session:
        claim_job(session, "w2", lease_s=60)
        complete_job(session, again, "w2", [_event(segment_id, "truck", 3)], [b"\xff\xd8new"], {})
        raise JobLost("simulated crash before commit")
    with session_scope() as session:
        assert sorted(session.scalars(select(Event.label))) == ["car", "person"]
        assert session.get(Job, again).status == JobStatus.QUEUED

    with session_scope() as session:
        claim_job(session, "w2", lease_s=60)
    # The lease is taken away before the worker finishes: its results are refused.
    with session_scope() as session:
        requeue_expired(session, worker="w2", reason="test")
    with pytest.raises(JobLost), session_scope() as session:
        complete_job(session, again, "w2", [_event(segment_id, "truck", 3)], [None], {})
    with session_scope() as session:
        assert sorted(session.scalars(select(Event.label))) == ["car", "person"]
        claim_job(session, "w3", lease_s=60)
        complete_job(session, again, "w3", [_event(segment_id, "truck", 3)], [b"\xff\xd8new"], {})
    with session_scope() as session:
        assert list(session.scalars(select(Event.label))) == ["truck"]
        assert session.scalar(select(func.count()).select_from(EventThumbnail)) == 1


def test_dispatch_bookkeeping_and_listing(two_segments: list[int]) -> None:
    first, second = _queue(two_segments)
    with session_scope() as session:
        assert jobs_to_dispatch(session, older_than_s=60) == [first, second]
        mark_dispatched(session, [first])
    with session_scope() as session:
        assert jobs_to_dispatch(session, older_than_s=60) == [second]
        assert jobs_to_dispatch(session, older_than_s=60, now=utcnow() + timedelta(seconds=61)) == [first, second]
        rows = list_jobs(session, camera="north-gate")
        assert [job.id for job, _ in rows] == [second, first]
        assert list_jobs(session, status=JobStatus.DONE) == []
        assert list_jobs(session, site_ids=[]) == []


def test_jobs_api_admin_sees_all_manager_own_site_officer_none(gw_home: Path, footage_dir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from footage.settings import get_settings
    from tests.conftest import bearer, make_user

    monkeypatch.setenv("GATEWATCH_LOCAL_WORKERS", "0")  # only the listing is under test: nothing indexes
    get_settings.cache_clear()
    make_camera("north-gate", site="Palm Court")
    make_camera("east-gate", site="Lakeside")
    north = add_segment(gw_home, "north-gate", footage_dir / "street_topdown_traffic.mp4", T0)
    east = add_segment(gw_home, "east-gate", footage_dir / "traffic_1080p_short.mp4", T0)
    north_job, east_job = _queue([north, east])
    with session_scope() as session:
        claim_job(session, "host:1:local", lease_s=60, job_ids=[east_job])
    admin = bearer(make_user("admin", "admin"))
    manager = bearer(make_user("manager", "palm-manager", ["Palm Court"]))
    officer = bearer(make_user("officer", "officer"))
    with TestClient(create_app()) as client:
        everything = client.get("/api/v1/jobs", headers=admin)
        assert everything.status_code == 200
        rows = {row["id"]: row for row in everything.json()}
        assert set(rows) == {north_job, east_job}
        east_row = rows[east_job]
        assert east_row["camera"] == "east-gate" and east_row["status"] == "running"
        assert east_row["attempts"] == 1 and east_row["max_attempts"] == 3 and east_row["worker"] == "host:1:local"
        assert east_row["started_at"].endswith("+08:00") and east_row["finished_at"] is None
        assert set(east_row) == {"id", "kind", "segment_id", "camera", "status", "engine", "attempts",
                                 "max_attempts", "progress", "error", "worker", "created_at", "started_at",
                                 "finished_at"}
        running = client.get("/api/v1/jobs", params={"status": "running"}, headers=admin).json()
        assert [row["id"] for row in running] == [east_job]
        by_camera = client.get("/api/v1/jobs", params={"camera": "north-gate"}, headers=admin).json()
        assert [row["id"] for row in by_camera] == [north_job]
        own = client.get("/api/v1/jobs", headers=manager).json()
        assert [row["id"] for row in own] == [north_job]
        assert client.get("/api/v1/jobs", params={"camera": "east-gate"}, headers=manager).json() == []
        assert client.get("/api/v1/jobs", headers=officer).status_code == 403
        assert client.get("/api/v1/jobs").status_code == 401
        bad = client.get("/api/v1/jobs", params={"status": "sleeping"}, headers=admin)
        assert bad.status_code == 422
        assert client.get("/api/v1/jobs", params={"limit": 1}, headers=admin).json()[0]["id"] == east_job
