"""Indexing jobs: queued in the database, claimed by one worker at a time, retried after a worker dies.

The database is the only source of truth for a job's state, whichever engine runs it (the local worker pool or
Celery). A worker *claims* a queued job with an atomic update and holds a *lease* on it that a heartbeat renews;
a running job whose lease has run out belongs to a dead worker and goes back to the queue (or fails once it has
used its attempts). A job's results land in one transaction together with the job's completion, so a worker killed
mid-segment leaves nothing behind but an expired lease.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.orm import Session

from detection.models import Event, EventPlateCrop, EventThumbnail, Job, JobStatus
from detection.settings import get_detection_settings
from footage.catalogue import set_segment_status
from footage.db import rowcount, utcnow
from footage.models import Camera, Segment, SegmentStatus

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
INDEX = "index"
"""The kind of an indexing job (``detection.plates.backfill`` queues kind "plates")."""
CLAIM_CANDIDATES = 8
"""Queued jobs tried per claim on SQLite, where another worker may take the first ones between select and update."""


class JobLost(RuntimeError):
    """This worker no longer holds the job (its lease expired and it was re-queued); its results are dropped."""


@dataclass(frozen=True)
class ClaimedJob:
    """What a worker needs to run a job it has claimed, read in the claiming transaction."""

    job_id: int
    """The job's id."""
    segment_id: int
    """The segment to index."""
    attempt: int
    """Which attempt this is (1 for the first)."""


def worker_name(suffix: str = "") -> str:
    """How a worker process names itself in the job table: host and process id (and the engine)."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    return f"{name}:{suffix}" if suffix else name


def queue_segments(session: Session, segment_ids: list[int], *, engine: str = "local") -> list[Job]:
    """Queue an index job for each segment that has none queued or running; return the jobs queued."""
    queued: list[Job] = []
    max_attempts = get_detection_settings().job_max_attempts
    for segment_id in segment_ids:
        active = session.scalar(
            select(Job).where(Job.segment_id == segment_id, Job.status.in_(ACTIVE), Job.kind == INDEX)
        )
        if active is not None:
            continue
        job = Job(segment_id=segment_id, engine=engine, max_attempts=max_attempts, stats={})
        session.add(job)
        set_segment_status(session, segment_id, SegmentStatus.QUEUED)
        queued.append(job)
    session.flush()
    return queued


def in_window(stmt: Select[Any], camera: str | None, since: datetime | None, until: datetime | None) -> Select[Any]:
    """Narrow a segment query to one camera (if given) and to segments overlapping ``[since, until)``."""
    if camera is not None:
        stmt = stmt.where(Segment.camera_id == camera)
    if since is not None:
        stmt = stmt.where(Segment.end > since)
    if until is not None:
        stmt = stmt.where(Segment.start < until)
    return stmt


def job_segment(session: Session, job_id: int) -> tuple[Job, Segment, Camera | None]:
    """A job with its segment and that segment's camera; LookupError when the job or segment is gone."""
    job = session.get(Job, job_id)
    if job is None:
        raise LookupError(f"job {job_id} does not exist")
    segment = session.get(Segment, job.segment_id)
    if segment is None:
        raise LookupError(f"segment {job.segment_id} of job {job_id} does not exist")
    return job, segment, session.get(Camera, segment.camera_id)


def pending_segments(session: Session, camera: str | None = None, since: datetime | None = None,
                     until: datetime | None = None, reindex: bool = False) -> list[int]:
    """Ids of the segments to index, oldest first: those not indexed yet (failed ones too only with ``reindex``).

    ``since``/``until`` select segments that overlap the window. With ``reindex``, every segment in range.
    """
    stmt = in_window(select(Segment.id).order_by(Segment.start, Segment.id), camera, since, until)
    if not reindex:
        # A failed segment used its attempts; retrying it every night would only repeat the error.
        stmt = stmt.where(Segment.status.not_in([SegmentStatus.INDEXED, SegmentStatus.FAILED]))
    return list(session.scalars(stmt))


def active_jobs_for(session: Session, segment_ids: Collection[int]) -> list[Job]:
    """The queued or running job of each of these segments (at most one each)."""
    if not segment_ids:
        return []
    ids = list(segment_ids)
    jobs: list[Job] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        jobs.extend(session.scalars(select(Job).where(Job.segment_id.in_(chunk), Job.status.in_(ACTIVE),
                                                      Job.kind == INDEX)))
    return jobs


def claim_job(session: Session, worker: str, *, lease_s: float, engine: str = "local",
              job_ids: Collection[int] | None = None, kind: str = "index") -> ClaimedJob | None:
    """Take one queued job (the oldest, or one of ``job_ids``) for ``worker``; None when none is left to take.

    PostgreSQL locks the candidate row with SKIP LOCKED so concurrent claimers pass each other; on both databases
    the update is guarded by ``status = 'queued'`` and its row count tells whether this worker won. The caller
    commits.
    """
    # Each kind has its own runner (indexing workers never take a plate-reading job, nor the reverse).
    stmt = select(Job.id).where(Job.status == JobStatus.QUEUED, Job.kind == kind).order_by(Job.created_at, Job.id)
    if job_ids is not None:
        if not job_ids:
            return None
        stmt = stmt.where(Job.id.in_(list(job_ids)))
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        candidates = list(session.scalars(stmt.limit(1).with_for_update(skip_locked=True)))
    else:
        candidates = list(session.scalars(stmt.limit(CLAIM_CANDIDATES)))
    now = utcnow()
    for job_id in candidates:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.RUNNING, attempts=Job.attempts + 1, worker=worker, engine=engine,
                    lease_until=now + timedelta(seconds=lease_s), started_at=now, progress=0.0,
                    finished_at=None)
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) != 1:
            continue
        job = session.get(Job, job_id, populate_existing=True)
        assert job is not None
        if job.kind == INDEX:
            set_segment_status(session, job.segment_id, SegmentStatus.INDEXING)
        return ClaimedJob(job_id=job.id, segment_id=job.segment_id, attempt=job.attempts)
    return None


def heartbeat(session: Session, job_id: int, worker: str, *, progress: float | None, lease_s: float) -> bool:
    """Renew the lease (and record progress); False when the job is no longer this worker's. The caller commits."""
    values: dict[str, object] = {"lease_until": utcnow() + timedelta(seconds=lease_s)}
    if progress is not None:
        values["progress"] = max(0.0, min(1.0, float(progress)))
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.worker == worker, Job.status == JobStatus.RUNNING)
        .values(**values).execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def _take_for_finish(session: Session, job_id: int, worker: str) -> Job:
    """Lock the job for the finishing transaction and check this worker still holds it."""
    # The guarded no-op update takes SQLite's write lock first, so nothing can re-queue the job between check
    # and write; on PostgreSQL it locks the row.
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.worker == worker, Job.status == JobStatus.RUNNING)
        .values(worker=worker).execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise JobLost(f"job {job_id} was taken from worker {worker} (its lease expired); its results are dropped")
    job = session.get(Job, job_id, populate_existing=True)
    assert job is not None
    return job


def complete_job(session: Session, job_id: int, worker: str, events: list[Event],
                 thumbnails: list[bytes | None], stats: dict[str, float]) -> Job:
    """Replace the segment's events with ``events`` and mark segment and job done, all in the caller's transaction.

    ``thumbnails[i]`` is the JPEG of ``events[i]`` (or None). Raises JobLost when the job is no longer ours, in
    which case the caller must roll back.
    """
    job = _take_for_finish(session, job_id, worker)
    old_events = select(Event.id).where(Event.segment_id == job.segment_id).scalar_subquery()
    session.execute(delete(EventThumbnail).where(EventThumbnail.event_id.in_(old_events)))
    session.execute(delete(EventPlateCrop).where(EventPlateCrop.event_id.in_(old_events)))
    session.execute(delete(Event).where(Event.segment_id == job.segment_id))
    session.add_all(events)
    session.flush()
    session.add_all(
        EventThumbnail(event_id=event.id, jpeg=jpeg) for event, jpeg in zip(events, thumbnails, strict=True)
        if jpeg is not None
    )
    session.add_all(EventPlateCrop(event_id=event.id, jpeg=crop) for event in events
                    if (crop := getattr(event, "plate_crop_jpeg", None)))
    set_segment_status(session, job.segment_id, SegmentStatus.INDEXED)
    job.status = JobStatus.DONE
    job.progress = 1.0
    job.error = None
    job.lease_until = None
    job.finished_at = utcnow()
    job.stats = {**stats, "events": len(events)}
    session.flush()
    return job


def _give_up_or_retry(session: Session, job: Job, error: str) -> None:
    job.error = error
    job.lease_until = None
    # Only an indexing job speaks for its segment's state; another kind (plate reading) leaves it as it is.
    if job.attempts >= job.max_attempts:
        job.status = JobStatus.FAILED
        job.finished_at = utcnow()
        if job.kind == INDEX:
            set_segment_status(session, job.segment_id, SegmentStatus.FAILED, error)
    else:
        job.status = JobStatus.QUEUED
        job.worker = None
        job.progress = 0.0
        # A re-queued job needs a fresh task on Celery.
        job.stats = {key: value for key, value in (job.stats or {}).items() if key != "dispatched_at"}
        if job.kind == INDEX:
            set_segment_status(session, job.segment_id, SegmentStatus.QUEUED)


def fail_attempt(session: Session, job_id: int, worker: str, error: str) -> Job:
    """Record a failed attempt: back to the queue, or failed for good after ``max_attempts``. The caller commits."""
    job = _take_for_finish(session, job_id, worker)
    _give_up_or_retry(session, job, f"attempt {job.attempts} of {job.max_attempts}: {error}")
    session.flush()
    return job


def release_job(session: Session, job_id: int, worker: str) -> bool:
    """Give a job back unfinished because the worker is stopping; the attempt does not count. The caller commits."""
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.worker == worker, Job.status == JobStatus.RUNNING)
        .values(status=JobStatus.QUEUED, worker=None, lease_until=None, attempts=Job.attempts - 1, progress=0.0)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        return False
    job = session.get(Job, job_id, populate_existing=True)
    assert job is not None
    job.stats = {key: value for key, value in (job.stats or {}).items() if key != "dispatched_at"}
    if job.kind == INDEX:
        set_segment_status(session, job.segment_id, SegmentStatus.QUEUED)
    session.flush()
    return True


def requeue_expired(session: Session, *, now: datetime | None = None, worker: str | None = None,
                    reason: str | None = None) -> list[int]:
    """Return to the queue (or fail, when out of attempts) each running job whose lease has run out.

    With ``worker``, instead every running job of that worker, whose death its supervisor has seen. Returns the
    ids of the jobs touched. The caller commits.
    """
    now = now or utcnow()
    stmt = select(Job).where(Job.status == JobStatus.RUNNING)
    stmt = stmt.where(Job.worker == worker) if worker is not None else stmt.where(Job.lease_until < now)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    touched: list[int] = []
    for job in session.scalars(stmt).all():
        # Re-check under the lock: the owner may have renewed the lease or finished since the select.
        guard = update(Job).where(Job.id == job.id, Job.status == JobStatus.RUNNING, Job.worker == job.worker)
        if worker is None:
            guard = guard.where(Job.lease_until < now)
        if rowcount(session.execute(guard.values(lease_until=None).execution_options(synchronize_session=False))) != 1:
            continue
        session.refresh(job)
        why = reason or f"worker {job.worker} stopped answering (lease expired)"
        _give_up_or_retry(session, job, f"attempt {job.attempts} of {job.max_attempts}: {why}")
        touched.append(job.id)
    session.flush()
    return touched


def jobs_to_dispatch(session: Session, *, older_than_s: float, now: datetime | None = None) -> list[int]:
    """Queued jobs whose task was never sent, or sent longer ago than ``older_than_s`` (a broker may lose it)."""
    now = now or utcnow()
    ids: list[int] = []
    for job in session.scalars(select(Job).where(Job.status == JobStatus.QUEUED, Job.kind == INDEX)
                               .order_by(Job.created_at, Job.id)):
        sent = (job.stats or {}).get("dispatched_at")
        if sent is None or (now - datetime.fromisoformat(sent)).total_seconds() >= older_than_s:
            ids.append(job.id)
    return ids


def mark_dispatched(session: Session, job_ids: Collection[int], *, now: datetime | None = None) -> None:
    """Note when each job's task was sent. The caller commits."""
    stamp = (now or utcnow()).isoformat()
    for job in session.scalars(select(Job).where(Job.id.in_(list(job_ids)))):
        job.stats = {**(job.stats or {}), "dispatched_at": stamp}
    session.flush()


def list_jobs(session: Session, *, status: str | None = None, camera: str | None = None,
              site_ids: Collection[int] | None = None, limit: int = 100) -> list[tuple[Job, Segment]]:
    """Jobs with their segments, newest first, filtered by status, camera, or the sites a caller may reach."""
    from footage.models import Camera

    stmt = select(Job, Segment).join(Segment, Segment.id == Job.segment_id)
    if status is not None:
        stmt = stmt.where(Job.status == status)
    if camera is not None:
        stmt = stmt.where(Segment.camera_id == camera)
    if site_ids is not None:
        stmt = stmt.join(Camera, Camera.id == Segment.camera_id).where(Camera.site_id.in_(list(site_ids)))
    stmt = stmt.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    return [(job, segment) for job, segment in session.execute(stmt).all()]


def queue_for_run(session: Session, *, camera: str | None = None, since: datetime | None = None,
                  until: datetime | None = None, reindex: bool = False, engine: str = "local",
                  include_queued: bool = False) -> list[int]:
    """Queue what a `gatewatch index` run asks for and return the ids of the jobs it covers.

    Those are the new jobs plus the jobs already queued or running for the selected segments; with
    ``include_queued`` (``--pending``), also every other job still waiting in the queue (uploads queue those).
    The caller commits.
    """
    segment_ids = pending_segments(session, camera=camera, since=since, until=until, reindex=reindex)
    queue_segments(session, segment_ids, engine=engine)
    jobs = active_jobs_for(session, segment_ids)
    if include_queued:
        jobs.extend(session.scalars(select(Job).where(Job.status.in_(ACTIVE))))
    return sorted({job.id for job in jobs})
