"""Access control as FastAPI dependencies: who is asking, and may they reach this camera or site."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from api.auth import AuthError, Principal, authenticate_token
from footage.db import session_factory
from footage.models import Camera, Site

SESSION_COOKIE = "gatewatch_session"


def get_session() -> Iterator[Session]:
    session = session_factory()()
    try:
        yield session
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_session)]


def client_addr(request: Request) -> str | None:
    return request.client.host if request.client else None


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def current_principal(request: Request, session: DbSession) -> Principal:
    header = request.headers.get("authorization", "")
    try:
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise _unauthorized("use 'Authorization: Bearer TOKEN'")
            return authenticate_token(session, token.strip())
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            from api.sessions import principal_from_cookie

            return principal_from_cookie(session, cookie)
    except AuthError as exc:
        raise _unauthorized(f"not signed in: {exc}") from exc
    raise _unauthorized("not signed in: send 'Authorization: Bearer TOKEN' or sign in on the web page")


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]

FORBIDDEN = "your role or site does not allow this"


def require_role(*roles: str) -> Callable[[Principal], Principal]:
    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, FORBIDDEN)
        return principal

    return check


def reachable_camera(session: Session, principal: Principal, camera_id: str) -> Camera:
    """The camera, if this principal may reach it. Unreachable and missing look alike (403) to non-admins."""
    camera = session.get(Camera, camera_id)
    if camera is not None and principal.may_reach_site(camera.site_id):
        return camera
    if principal.is_admin:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no camera {camera_id!r}")
    raise HTTPException(status.HTTP_403_FORBIDDEN, FORBIDDEN)


def reachable_site(session: Session, principal: Principal, site_name: str) -> Site:
    from sqlalchemy import select

    site = session.scalar(select(Site).where(Site.name == site_name))
    if site is not None and principal.may_reach_site(site.id):
        return site
    if principal.is_admin:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {site_name!r}")
    raise HTTPException(status.HTTP_403_FORBIDDEN, FORBIDDEN)
