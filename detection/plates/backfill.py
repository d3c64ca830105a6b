"""Reading plates for events indexed before plates were read: jobs of kind "plates", one per segment.

The jobs live in the same table as indexing jobs (same claim, lease, heartbeat, retries and progress), but only
this module's runner takes them: ``claim_job(kind="plates")``. A job reads the segment's stored file again for
the frames its vehicle events' tracks name, without re-running detection, and writes each event's plate and
crop in one transaction with the job's completion; the segment's events are never replaced, so an officer's
case that cites them is untouched. A job never changes its segment's indexing state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.orm import Session

from detection.jobs.queue import ACTIVE, ClaimedJob, JobLost, _take_for_finish, fail_attempt, in_window, job_segment
from detection.models import Event, EventPlateCrop, Job, JobStatus
from detection.plates.frames import PLATE_LABELS, PlateTarget
from detection.plates.reader import PlateReader
from detection.plates.stage import read_plates
from detection.settings import JobTimings, get_detection_settings
from footage.db import session_scope, utcnow
from footage.models import Camera, Segment, SegmentStatus
from footage.settings import get_settings

KIND = "plates"


def segments_to_read(session: Session, *, camera: str | None = None, since: datetime | None = None,
                     until: datetime | None = None, again: bool = False) -> list[int]:
    """Indexed segments (of cameras with plate reading on) that hold vehicle events with no plate read yet.

    ``again``: every such segment with vehicle events, read or not (after a reader change). Oldest first.
    """
    unread: list[ColumnElement[bool]] = [Event.segment_id == Segment.id, Event.label.in_(sorted(PLATE_LABELS))]
    if not again:
        unread.append(Event.plate_norm.is_(None))
    stmt = (select(Segment.id).join(Camera, Camera.id == Segment.camera_id)
            .where(Segment.status == SegmentStatus.INDEXED, Camera.read_plates.is_(True),
                   exists().where(*unread))
            .order_by(Segment.start, Segment.id))
    return list(session.scalars(in_window(stmt, camera, since, until)))


def queue_plate_jobs(session: Session, segment_ids: Collection[int]) -> list[int]:
    """A plates job for each segment that has none queued or running; the ids of every active plates job of
    these segments (new or not). The caller commits."""
    ids: list[int] = []
    for segment_id in segment_ids:
        active = session.scalar(select(Job).where(Job.segment_id == segment_id, Job.kind == KIND,
                                                  Job.status.in_(ACTIVE)))
        if active is None:
            active = Job(kind=KIND, segment_id=segment_id, engine="local",
                         max_attempts=get_detection_settings().job_max_attempts, stats={})
            session.add(active)
            session.flush()
        ids.append(active.id)
    return ids


@dataclass
class _Work:
    path: Path
    rotation: int
    segment_start: datetime
    targets: list[PlateTarget]
    read_plates: bool


def _read_work(job_id: int) -> _Work:
    with session_scope() as session:
        _, segment, camera = job_segment(session, job_id)
        events = session.scalars(select(Event).where(Event.segment_id == segment.id,
                                                     Event.label.in_(sorted(PLATE_LABELS))).order_by(Event.id))
        targets = []
        for event in events:
            # Stored tracks count from the event's own start; the stage counts from the segment's first frame.
            offset = (event.start - segment.start).total_seconds()
            track = [[round(point[0] + offset, 3), *point[1:]] for point in event.track or []]
            targets.append(PlateTarget(key=event.id, label=event.label, track=track))
        return _Work(get_settings().resolved_home / segment.path, segment.rotation or 0, segment.start, targets,
                     bool(camera is not None and camera.read_plates))


def run_plate_job(claimed: ClaimedJob, worker: str, reader: PlateReader, *,
                  timings: JobTimings | None = None) -> str:
    """Read the plates of one claimed job's segment and record them; returns the job's new status."""
    from detection.indexing import Heartbeat, _error_text

    timings = timings or JobTimings.from_settings()
    started = time.monotonic()
    try:
        work = _read_work(claimed.job_id)
        with Heartbeat(claimed.job_id, worker, timings) as beat:
            beat.progress = 0.05
            # A camera whose plate reading was turned off after the job was queued reads nothing.
            report = read_plates(work.path, work.targets if work.read_plates else [], reader,
                                 rotation=work.rotation, progress=lambda f: setattr(beat, "progress", f))
            if beat.lost:
                raise JobLost(f"job {claimed.job_id} was taken from this worker")
        with session_scope() as session:
            job = _take_for_finish(session, claimed.job_id, worker)
            for target in work.targets:
                event = session.get(Event, target.key)
                if event is None:
                    continue  # purged or re-indexed meanwhile
                read = report.reads.get(target.key)
                event.plate = read.text if read else None
                event.plate_norm = read.norm if read else None
                event.plate_score = read.score if read else None
                session.execute(delete(EventPlateCrop).where(EventPlateCrop.event_id == event.id))
                if read is not None and read.crop_jpeg:
                    session.add(EventPlateCrop(event_id=event.id, jpeg=read.crop_jpeg))
            job.status = JobStatus.DONE
            job.progress = 1.0
            job.error = None
            job.lease_until = None
            job.finished_at = utcnow()
            job.stats = {**report.stats(), "events": float(len(work.targets)),
                         "wall_s": round(time.monotonic() - started, 3), "attempt": claimed.attempt}
        return JobStatus.DONE
    except JobLost:
        return "lost"
    except Exception as exc:
        try:
            with session_scope() as session:
                return fail_attempt(session, claimed.job_id, worker, _error_text(exc)).status
        except JobLost:
            return "lost"


def claim_plate_job(worker: str, job_ids: Collection[int], timings: JobTimings) -> ClaimedJob | None:
    from detection.jobs import claim_job

    with session_scope() as session:
        return claim_job(session, worker, lease_s=timings.lease_s, job_ids=job_ids, kind=KIND)


def run_plate_jobs(job_ids: list[int], worker: str, *, reader: PlateReader | None = None,
                   on_tick: Callable[[], None] | None = None) -> dict[str, Any]:
    """Claim and run these plates jobs one after the other in this process; returns counts by outcome."""
    from detection.jobs import requeue_expired

    timings = JobTimings.from_settings()
    reader = reader or PlateReader.load()
    outcomes: dict[str, int] = {}
    with session_scope() as session:
        requeue_expired(session)  # a run killed earlier left its jobs running under an expired lease
    while True:
        claimed = claim_plate_job(worker, job_ids, timings)
        if claimed is None:
            break
        status = run_plate_job(claimed, worker, reader, timings=timings)
        outcomes[status] = outcomes.get(status, 0) + 1
        if on_tick is not None:
            on_tick()
    return outcomes


def summarize_plate_jobs(job_ids: list[int]) -> dict[str, Any]:
    """The state of these plates jobs: counts, events tried, plates read, failures."""
    out: dict[str, Any] = {"segments": len(job_ids), "done": 0, "failed": 0, "pending": 0, "events": 0,
                           "plates_read": 0, "footage_s": 0.0, "footage_done_s": 0.0, "failures": []}
    with session_scope() as session:
        for start in range(0, len(job_ids), 500):
            rows = session.execute(select(Job, Segment).join(Segment, Segment.id == Job.segment_id)
                                   .where(Job.id.in_(job_ids[start:start + 500]))).all()
            for job, segment in rows:
                out["footage_s"] += segment.duration_s
                if job.status == JobStatus.DONE:
                    out["done"] += 1
                    out["footage_done_s"] += segment.duration_s
                    out["events"] += int((job.stats or {}).get("events", 0))
                    out["plates_read"] += int((job.stats or {}).get("plates_read", 0))
                elif job.status == JobStatus.FAILED:
                    out["failed"] += 1
                    out["footage_done_s"] += segment.duration_s
                    out["failures"].append({"job": job.id, "segment": segment.id, "error": job.error})
                else:
                    out["pending"] += 1
                    if job.status == JobStatus.RUNNING:
                        out["footage_done_s"] += segment.duration_s * (job.progress or 0.0)
    return out
