"""HTTP routes: sites and cameras (admins create them; anyone signed in lists those they may reach)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status

from api.audit import record
from api.auth import Principal
from api.deps import CurrentPrincipal, DbSession, client_addr, require_role
from api.schemas.footage import CameraCreate, CameraOut, SiteCreate, SiteOut
from footage.catalogue import (
    AlreadyExists,
    CatalogueError,
    add_camera,
    add_site,
    camera_to_dict,
    list_cameras,
    list_sites,
)

router = APIRouter(tags=["sites and cameras"])

Admin = Annotated[Principal, Depends(require_role("admin"))]


def _conflict_or_invalid(exc: CatalogueError) -> int:
    return status.HTTP_409_CONFLICT if isinstance(exc, AlreadyExists) else status.HTTP_422_UNPROCESSABLE_CONTENT


@router.get("/sites", response_model=list[SiteOut])
def get_sites(session: DbSession, principal: CurrentPrincipal) -> list[SiteOut]:
    """The sites the caller may reach, each with its cameras' ids."""
    sites = list_sites(session, principal.site_ids)
    return [SiteOut(id=site.id, name=site.name, cameras=[c.id for c in site.cameras], retain_days=site.retain_days)
            for site in sites]


@router.post("/sites", response_model=SiteOut, status_code=status.HTTP_201_CREATED)
def post_site(body: SiteCreate, session: DbSession, principal: Admin, request: Request) -> SiteOut:
    try:
        site = add_site(session, body.name)
    except CatalogueError as exc:
        raise HTTPException(_conflict_or_invalid(exc), str(exc)) from exc
    record(session, user_name=principal.name, action="site_create", obj=f"site:{site.name}",
           remote_addr=client_addr(request))
    session.commit()
    return SiteOut(id=site.id, name=site.name, cameras=[])


@router.get("/cameras", response_model=list[CameraOut])
def get_cameras(session: DbSession, principal: CurrentPrincipal) -> list[dict]:
    """The cameras of the sites the caller may reach."""
    return [camera_to_dict(c) for c in list_cameras(session, principal.site_ids)]


@router.post("/cameras", response_model=CameraOut, status_code=status.HTTP_201_CREATED)
def post_camera(body: CameraCreate, session: DbSession, principal: Admin, request: Request) -> dict:
    try:
        camera = add_camera(session, body.id, body.site, body.gate, body.timezone, body.zones, body.clock_offset_s)
    except CatalogueError as exc:
        raise HTTPException(_conflict_or_invalid(exc), str(exc)) from exc
    record(session, user_name=principal.name, action="camera_create", obj=f"camera:{camera.id}",
           detail=camera_to_dict(camera), remote_addr=client_addr(request))
    session.commit()
    return camera_to_dict(camera)
