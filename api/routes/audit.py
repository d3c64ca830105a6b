"""HTTP routes: the audit trail (admin only), newest first, with filters and paging."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from api.audit import MAX_PAGE, AuditQueryError, entry_dict, list_entries
from api.auth import Principal
from api.deps import DbSession, require_role
from api.models import Role
from api.schemas.audit import AuditPageOut

router = APIRouter(tags=["audit"])
Admin = Annotated[Principal, Depends(require_role(Role.ADMIN))]


@router.get("/audit", response_model=AuditPageOut)
def audit_list(
    session: DbSession,
    principal: Admin,
    user: Annotated[str | None, Query(max_length=100, description="Exact user name.")] = None,
    action: Annotated[str | None, Query(max_length=64, description="Exact action, e.g. search, export.")] = None,
    since: Annotated[datetime | None, Query(description="ISO 8601 with offset; entries at or after.")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601 with offset; entries before.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(max_length=20, description="next_cursor of the previous page.")] = None,
) -> dict:
    """Page through the audit trail. Reading it is not itself recorded (only admins can, and it would flood it)."""
    try:
        page = list_entries(session, user=user, action=action, since=since, until=until, limit=limit, cursor=cursor)
    except AuditQueryError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return {"entries": [entry_dict(entry) for entry in page.entries], "next_cursor": page.next_cursor}
