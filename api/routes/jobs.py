"""HTTP routes: indexing jobs (admins see all; a manager sees the jobs of their own sites' cameras)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from api.auth import Principal
from api.deps import DbSession, require_role
from api.models import Role
from api.schemas.jobs import JobOut, job_out
from detection.jobs import list_jobs
from footage.models import Camera

router = APIRouter(tags=["jobs"])

@router.get("/jobs", response_model=list[JobOut])
def get_jobs(
    session: DbSession,
    principal: Annotated[Principal, Depends(require_role(Role.ADMIN, Role.MANAGER))],
    status: Annotated[str | None, Query(pattern="^(queued|running|done|failed)$",
                                        description="Only jobs in this state.")] = None,
    camera: Annotated[str | None, Query(description="Only jobs of this camera's segments.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many jobs, newest first.")] = 100,
) -> list[JobOut]:
    """Indexing jobs, newest first: state, attempts, progress and the last error."""
    rows = list_jobs(session, status=status, camera=camera, site_ids=principal.site_ids, limit=limit)
    cameras = session.scalars(select(Camera).where(Camera.id.in_({segment.camera_id for _, segment in rows})))
    zones = {camera.id: camera.timezone for camera in cameras}
    return [job_out(job, segment, zones.get(segment.camera_id, "UTC")) for job, segment in rows]
