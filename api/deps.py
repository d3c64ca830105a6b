"""Access control as FastAPI dependencies: who is asking, and may they reach this camera or site."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api import audit, auth_cache
from api.audit_writer import AuditUnavailable, AuditWriter
from api.auth import AuthError, Principal
from api.sessions import LoginThrottle, principal_from_cookie
from footage.db import session_factory
from footage.models import Camera

SESSION_COOKIE = "gatewatch_session"


async def get_session() -> AsyncIterator[Session]:
    # Async so that FastAPI does not hand it to a worker thread twice a request (enter and exit): making a session
    # opens nothing, and one whose work is done (the search closes its own) has nothing to roll back.
    session = session_factory()()
    try:
        yield session
    finally:
        if session.in_transaction():
            # A rollback may wait on the database (PostgreSQL over the network): not on the event loop.
            await run_in_threadpool(session.close)
        else:
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


def audit_writer(request: Request) -> AuditWriter:
    """The process's batched audit writer (one per app; made on first use if the lifespan did not make it)."""
    writer = getattr(request.app.state, "audit_writer", None)
    if writer is None:
        writer = request.app.state.audit_writer = AuditWriter()
    return writer


def record_read(request: Request, principal: Principal, action: str, obj: str | None,
                detail: dict[str, Any]) -> int:
    """Record a read (search, view) through the batched writer; returns once it is committed, or fails with 503."""
    item = audit.pending(user_name=principal.name, action=action, obj=obj, detail=detail,
                         remote_addr=client_addr(request))
    try:
        return audit_writer(request).write(item)
    except AuditUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "5"}) from exc


async def record_read_async(request: Request, principal: Principal, action: str, obj: str | None,
                            detail: dict[str, Any]) -> int:
    """``record_read`` for async routes: the request waits for the commit without holding a thread."""
    item = audit.pending(user_name=principal.name, action=action, obj=obj, detail=detail,
                         remote_addr=client_addr(request))
    try:
        return await audit_writer(request).write_async(item)
    except AuditUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "5"}) from exc


def record_failed_login(request: Request, name: str | None, reason: str, via: str) -> None:
    """Count the failure for the audit trail (one entry per address per minute); web sign-ins also count against
    the address.

    Bearer failures are recorded but do not block the address: tokens are 256 random bits (guessing is hopeless),
    and blocking an address would lock out every colleague behind the same NAT along with the one who mistyped.
    """
    addr = client_addr(request) or "unknown"
    if via == "web":
        login_throttle(request).failed(addr)
    audit_writer(request).failed_login(addr, name, reason, via)


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def check_same_origin(request: Request) -> None:
    """Refuse a state-changing request that a browser sent from another site (cross-site request forgery).

    Applies to cookie-authenticated requests and the sign-in itself; bearer-token clients send no cookie and are
    not affected. A browser sends ``Sec-Fetch-Site`` (modern ones) or ``Origin`` on every cross-origin POST; a
    request with neither comes from a non-browser client, which a foreign page cannot drive.
    """
    if request.method not in UNSAFE_METHODS:
        return
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"cross-site request refused (Sec-Fetch-Site: {fetch_site}); use the gatewatch page")
    origin = request.headers.get("origin")
    if origin is not None:
        host = request.headers.get("host", "")
        if origin == "null" or urlsplit(origin).netloc.lower() != host.lower():
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"cross-origin request refused (Origin: {origin[:100]}); use the gatewatch page")


def principal_of(request: Request, session: Session) -> Principal:
    """Who is asking (bearer token or web session cookie), or 401; blocking (it may read the database)."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("use 'Authorization: Bearer TOKEN'")
        try:
            return auth_cache.authenticate(session, token)
        except AuthError as exc:
            record_failed_login(request, exc.user_name, str(exc), "bearer")
            raise _unauthorized(f"not signed in: {exc}") from exc
        finally:
            # End the read transaction now: the connection goes back to the pool instead of being held while the
            # route waits for a thread (the route's own queries check one out again).
            session.rollback()
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        check_same_origin(request)
        try:
            return principal_from_cookie(session, cookie)
        except AuthError as exc:
            raise _unauthorized(f"not signed in: {exc}") from exc
    raise _unauthorized("not signed in: send 'Authorization: Bearer TOKEN' or sign in on the web page")


def _principal_from_database(request: Request) -> Principal:
    with session_factory()() as session:
        return principal_of(request, session)


async def current_principal(request: Request) -> Principal:
    # Async, with the database only on a cache miss (in a worker thread, in a session of its own): on a busy
    # service almost every request is a cache hit and costs no thread hand-off, and no session dependency (whose
    # async exit stack cost more per search than the token check itself).
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        cached = auth_cache.cached_principal(token.strip())
        if cached is not None:
            return cached
    return await run_in_threadpool(_principal_from_database, request)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]

FORBIDDEN = "your role or site does not allow this"


def require_role(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: CurrentPrincipal) -> Principal:  # async: no thread hand-off for a comparison
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
