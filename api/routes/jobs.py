"""HTTP routes: indexing jobs (admins see all; a manager sees the jobs of their own sites' cameras)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import Principal
from api.deps import DbSession, require_role
from api.jobs_listing import jobs_out
from api.models import Role
from api.schemas.jobs import JobOut

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
    return jobs_out(session, status=status, camera=camera, site_ids=principal.site_ids, limit=limit)
