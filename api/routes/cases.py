"""HTTP routes: evidence cases and their export as a signed zip (admins and officers)."""

import os
import tempfile
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from api.auth import Principal
from api.case_audit import add_items_detail, create_detail, export_detail, record_case
from api.cases import (
    CaseError,
    CaseForbidden,
    CaseNotFound,
    RangeRequest,
    add_items,
    case_dict,
    create_case,
    export_case,
    export_file_name,
    get_case,
    list_cases,
    remove_item,
)
from api.deps import FORBIDDEN, DbSession, client_addr, require_role
from api.models import Role
from api.schemas.cases import CaseCreate, CaseOut, ExportOptions, ItemsAdd, RangeIn
from footage.evidence import EvidenceError
from footage.settings import get_settings

router = APIRouter(tags=["cases"])
Investigator = Annotated[Principal, Depends(require_role(Role.ADMIN, Role.OFFICER))]
Id = Annotated[int, Path(ge=1, le=2**62)]


def _refused(exc: Exception) -> HTTPException:
    if isinstance(exc, CaseForbidden):
        return HTTPException(status.HTTP_403_FORBIDDEN, FORBIDDEN)
    if isinstance(exc, CaseNotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


def _ranges(ranges: list[RangeIn]) -> list[RangeRequest]:
    return [RangeRequest(camera=r.camera, start=r.from_, end=r.to) for r in ranges]


@router.post("/cases", response_model=CaseOut, status_code=status.HTTP_201_CREATED)
def cases_create(body: CaseCreate, request: Request, session: DbSession, principal: Investigator) -> dict:
    """Open a case with events and/or camera time ranges."""
    try:
        case = create_case(session, principal, body.name, body.reference, body.events, _ranges(body.ranges))
    except (CaseError, CaseForbidden, CaseNotFound) as exc:
        raise _refused(exc) from exc
    record_case(session, principal.name, "case_create", case,
                create_detail(case, body.events, _ranges(body.ranges)), client_addr(request))
    session.commit()
    return case_dict(session, case)


@router.get("/cases", response_model=list[CaseOut])
def cases_list(session: DbSession, principal: Investigator) -> list[dict]:
    """The cases the caller may see (every camera in them is within their sites)."""
    return [case_dict(session, case) for case in list_cases(session, principal)]


@router.get("/cases/{case_id}", response_model=CaseOut)
def cases_get(case_id: Id, session: DbSession, principal: Investigator) -> dict:
    try:
        return case_dict(session, get_case(session, principal, case_id))
    except (CaseForbidden, CaseNotFound) as exc:
        raise _refused(exc) from exc


@router.post("/cases/{case_id}/items", response_model=CaseOut)
def cases_add_items(case_id: Id, body: ItemsAdd, request: Request, session: DbSession,
                    principal: Investigator) -> dict:
    """Add events and/or camera time ranges to a case."""
    try:
        case = add_items(session, principal, get_case(session, principal, case_id), body.events,
                         _ranges(body.ranges))
    except (CaseError, CaseForbidden, CaseNotFound) as exc:
        raise _refused(exc) from exc
    record_case(session, principal.name, "case_add_items", case,
                add_items_detail(body.events, _ranges(body.ranges)), client_addr(request))
    session.commit()
    return case_dict(session, case)


@router.delete("/cases/{case_id}/items/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
def cases_remove_item(case_id: Id, item_id: Id, request: Request, session: DbSession,
                      principal: Investigator) -> Response:
    try:
        case = get_case(session, principal, case_id)
        remove_item(session, case, item_id)
    except (CaseForbidden, CaseNotFound) as exc:
        raise _refused(exc) from exc
    record_case(session, principal.name, "case_remove_item", case, {"item": item_id}, client_addr(request))
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/cases/{case_id}/export",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "The signed evidence package."}},
)
def cases_export(case_id: Id, request: Request, session: DbSession, principal: Investigator,
                 body: ExportOptions | None = None) -> FileResponse:
    """Cut the case's clips and answer the signed zip (clips, thumbnails, manifest.json, manifest.sig)."""
    options = body or ExportOptions()
    home = get_settings().resolved_home
    home.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="gw-package-", suffix=".zip", dir=home)
    os.close(fd)
    out = FilePath(name)
    try:
        case = get_case(session, principal, case_id)
        result = export_case(session, case, out, exported_by=principal.name, pre_s=options.pre,
                             post_s=options.post, exact=options.exact, burn_in=options.burn_in)
    except (CaseError, CaseForbidden, CaseNotFound, EvidenceError) as exc:
        out.unlink(missing_ok=True)
        raise _refused(exc) from exc
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    record_case(session, principal.name, "export", case,
                export_detail(case, result, pre=options.pre, post=options.post, exact=options.exact,
                              burn_in=options.burn_in), client_addr(request))
    session.commit()
    return FileResponse(out, media_type="application/zip", filename=export_file_name(case),
                        background=BackgroundTask(out.unlink, missing_ok=True))
