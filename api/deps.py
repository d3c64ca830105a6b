"""Access control as FastAPI dependencies: who is asking, and may they reach this camera or site."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import audit
from api.auth import AuthError, Principal, authenticate_token
from api.sessions import LoginThrottle, principal_from_cookie
from footage.db import session_factory, session_scope
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


def login_throttle(request: Request) -> LoginThrottle:
    """The app's count of failed sign-ins per address (one per app, so each test client starts clean)."""
    throttle = getattr(request.app.state, "login_throttle", None)
    if throttle is None:
        throttle = request.app.state.login_throttle = LoginThrottle()
    return throttle


def too_many_failures(retry_after: int) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"too many failed sign-ins from this address; wait {retry_after} s and try again",
        headers={"Retry-After": str(retry_after)},
    )


def record_failed_login(request: Request, name: str | None, reason: str, via: str) -> None:
    """Put the failure in the audit trail (its own transaction); web sign-ins also count against the address.

    Bearer failures are recorded but do not block the address: tokens are 256 random bits (guessing is hopeless),
    and blocking an address would lock out every colleague behind the same NAT along with the one who mistyped.
    """
    addr = client_addr(request) or "unknown"
    if via == "web":
        login_throttle(request).failed(addr)
    with session_scope() as audit_session:
        audit.record(audit_session, user_name=name, action="login_failed", obj=None,
                     detail={"via": via, "reason": reason}, remote_addr=addr)


def current_principal(request: Request, session: DbSession) -> Principal:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("use 'Authorization: Bearer TOKEN'")
        try:
            return authenticate_token(session, token.strip())
        except AuthError as exc:
            session.rollback()
            record_failed_login(request, exc.user_name, str(exc), "bearer")
            raise _unauthorized(f"not signed in: {exc}") from exc
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        try:
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
    site = session.scalar(select(Site).where(Site.name == site_name))
    if site is not None and principal.may_reach_site(site.id):
        return site
    if principal.is_admin:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {site_name!r}")
    raise HTTPException(status.HTTP_403_FORBIDDEN, FORBIDDEN)
