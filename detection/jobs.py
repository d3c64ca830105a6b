"""Indexing jobs: queued in the database, claimed by one worker at a time, retried after a worker dies."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from detection.models import Job, JobStatus
from footage.models import Segment, SegmentStatus


def queue_segments(session: Session, segment_ids: list[int], *, engine: str = "local") -> list[Job]:
    """Queue an index job for each segment that has none queued or running; return the jobs queued."""
    queued: list[Job] = []
    for segment_id in segment_ids:
        active = session.scalar(
            select(Job).where(Job.segment_id == segment_id, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        )
        if active is not None:
            continue
        job = Job(segment_id=segment_id, engine=engine)
        session.add(job)
        segment = session.get(Segment, segment_id)
        if segment is not None:
            segment.status = SegmentStatus.QUEUED
        queued.append(job)
    session.flush()
    return queued
