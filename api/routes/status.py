"""HTTP routes of the footage lifecycle: edit cameras and sites, delete a segment, close a case, the status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status

from api import lifecycle
from api.auth import Principal
from api.cases import CaseForbidden, CaseNotFound, case_dict, get_case
from api.deps import DbSession, client_addr, require_role
from api.schemas.footage import CameraOut
from api.schemas.lifecycle import CameraPatch, CaseClose, SitePatch, StatusOut
from api.storage_status import storage_status
from footage.catalogue import CatalogueError, UnknownCamera, UnknownSite, camera_to_dict
from footage.retention import SegmentHeld

router = APIRouter(tags=["footage lifecycle"])

Admin = Annotated[Principal, Depends(require_role("admin"))]
Investigator = Annotated[Principal, Depends(require_role("admin", "officer"))]
Viewer = Annotated[Principal, Depends(require_role("admin", "manager"))]
# Row ids beyond what the databases store are a 422, not an overflow inside the driver.
Id = Annotated[int, Path(ge=1, le=2**62)]


def _refused(exc: Exception) -> HTTPException:
    if isinstance(exc, (UnknownCamera, UnknownSite, LookupError, CaseNotFound)):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, (SegmentHeld, lifecycle.PlatesStillRead)):
        return HTTPException(status.HTTP_409_CONFLICT, str(exc))
    if isinstance(exc, CaseForbidden):
        return HTTPException(status.HTTP_403_FORBIDDEN, "your role or site does not allow this")
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


@router.patch("/cameras/{camera_id}", response_model=CameraOut)
def patch_camera(camera_id: str, body: CameraPatch, request: Request, session: DbSession,
                 principal: Admin) -> dict[str, Any]:
    """Change a camera's retention, gate, time zone, zones or plate reading (only the fields sent)."""
    changes = body.model_dump(exclude_unset=True)
    try:
        camera = lifecycle.update_camera(session, camera_id, actor=principal.name,
                                         remote_addr=client_addr(request), **changes)
    except (CatalogueError, lifecycle.LifecycleError) as exc:
        raise _refused(exc) from exc
    return camera_to_dict(camera)


@router.delete("/cameras/{camera_id}/plates")
def delete_camera_plates(camera_id: str, request: Request, session: DbSession,
                         principal: Admin) -> dict[str, int]:
    """Delete the plates read on a camera whose plate reading is off (events an open case holds keep theirs)."""
    try:
        return lifecycle.forget_plates(session, camera_id, actor=principal.name, remote_addr=client_addr(request))
    except (CatalogueError, lifecycle.LifecycleError) as exc:
        raise _refused(exc) from exc


@router.patch("/sites/{site_id}")
def patch_site(site_id: Id, body: SitePatch, request: Request, session: DbSession,
               principal: Admin) -> dict[str, Any]:
    """Set a site's default retention (null: keep)."""
    try:
        site = lifecycle.update_site(session, site_id, body.retain_days, actor=principal.name,
                                     remote_addr=client_addr(request))
    except (CatalogueError, lifecycle.LifecycleError) as exc:
        raise _refused(exc) from exc
    return {"id": site.id, "name": site.name, "retain_days": site.retain_days}


@router.delete("/segments/{segment_id}")
def delete_segment(segment_id: Id, request: Request, session: DbSession, principal: Admin,
                   reason: Annotated[str, Query(min_length=1, max_length=2000)]) -> dict[str, Any]:
    """Delete one segment (a wrong upload) with its events; refused (409) while an open case holds it."""
    try:
        return lifecycle.delete_segment(session, segment_id, reason, actor=principal.name,
                                        remote_addr=client_addr(request))
    except (SegmentHeld, LookupError, lifecycle.LifecycleError) as exc:
        raise _refused(exc) from exc


@router.post("/cases/{case_id}/close")
def close_case(case_id: Id, body: CaseClose, request: Request, session: DbSession,
               principal: Investigator) -> dict[str, Any]:
    """Close a case, releasing its hold on footage."""
    try:
        case = lifecycle.close_case(session, get_case(session, principal, case_id), body.reason,
                                    actor=principal.name, remote_addr=client_addr(request))
    except (CaseNotFound, CaseForbidden, lifecycle.LifecycleError) as exc:
        raise _refused(exc) from exc
    return case_dict(session, case)


@router.get("/status", response_model=StatusOut)
def get_status(session: DbSession, principal: Viewer) -> dict[str, Any]:
    """Footage per camera, the indexing backlog, the data folder and warnings; a manager sees their sites."""
    return storage_status(session, principal.site_ids)
