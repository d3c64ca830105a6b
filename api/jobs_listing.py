"""The indexing jobs as people see them (times in each camera's zone): one listing for HTTP and the CLI."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.schemas.jobs import JobOut, job_out
from detection.jobs import list_jobs
from detection.models import JobStatus
from footage.models import Camera

STATUSES = tuple(status.value for status in JobStatus)
"""The states a job listing may be narrowed to."""


def jobs_out(session: Session, *, status: str | None = None, camera: str | None = None,
             site_ids: Collection[int] | None = None, limit: int = 100) -> list[JobOut]:
    """Jobs newest first, each with its times in its camera's zone (UTC for a camera since deleted)."""
    rows = list_jobs(session, status=status, camera=camera, site_ids=site_ids, limit=limit)
    cameras = session.scalars(select(Camera).where(Camera.id.in_({segment.camera_id for _, segment in rows})))
    zones = {row.id: row.timezone for row in cameras}
    return [job_out(job, segment, zones.get(segment.camera_id, "UTC")) for job, segment in rows]
