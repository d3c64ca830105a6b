"""Response models for indexing jobs (GET /api/v1/jobs, `gatewatch jobs --json`)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from detection.models import Job
from footage.models import Segment


class JobOut(BaseModel):
    """One indexing job: which segment, where it stands, how many attempts it took, what went wrong."""

    id: int
    kind: str = Field(description="What the job does; 'index' for indexing a segment.")
    segment_id: int
    camera: str
    status: str = Field(description="queued, running, done or failed.")
    engine: str = Field(description="What ran (or queued) it: 'local' (the local worker pool) or 'celery'.")
    attempts: int
    max_attempts: int
    progress: float = Field(description="Fraction of the segment done, 0..1.")
    error: str | None = Field(description="The last attempt's error, if it failed.")
    worker: str | None = Field(description="host:pid:engine of the worker that holds (or last held) the job.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def job_out(job: Job, segment: Segment, timezone: str) -> JobOut:
    """The job as shown to people: times in the camera's time zone."""
    zone = ZoneInfo(timezone)

    def local(moment: datetime | None) -> datetime | None:
        return moment.astimezone(zone) if moment is not None else None

    return JobOut(
        id=job.id, kind=job.kind, segment_id=job.segment_id, camera=segment.camera_id, status=job.status,
        engine=job.engine, attempts=job.attempts, max_attempts=job.max_attempts, progress=round(job.progress, 4),
        error=job.error, worker=job.worker, created_at=local(job.created_at),
        started_at=local(job.started_at), finished_at=local(job.finished_at),
    )
