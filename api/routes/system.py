"""HTTP routes: readiness, the evidence signing key, who am I, and web sign-in (the session cookie)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response, status
from sqlalchemy import text

from api import audit
from api.auth import AuthError, Principal, principal_for
from api.deps import (
    SESSION_COOKIE,
    CurrentPrincipal,
    DbSession,
    check_same_origin,
    client_addr,
    login_throttle,
    record_failed_login,
    too_many_failures,
)
from api.schemas.cases import SigningKeyOut
from api.schemas.users import Login, Me
from api.sessions import SECRET_FILE, check_login, end_session, session_hours, start_session
from api.settings import get_api_settings
from footage.catalogue import list_sites
from footage.settings import get_settings
from footage.signing import ALGORITHM, load_or_create, private_secret


@asynccontextmanager
async def create_keys(app: FastAPI) -> AsyncIterator[None]:
    """On the service's first start, make the evidence signing key and the sessions' secret (0600, kept after)."""
    settings = get_settings()
    load_or_create(settings.keys_dir)
    private_secret(settings.keys_dir, SECRET_FILE)
    yield


router = APIRouter(tags=["system"], lifespan=create_keys)


@router.get("/healthz")
def healthz(session: DbSession) -> dict[str, str]:
    """Answers once the service has migrated its database and can reach it."""
    session.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/api/v1/signing-key", response_model=SigningKeyOut)
def signing_key() -> SigningKeyOut:
    """The installation's public key: check evidence packages offline with `gatewatch verify --key`."""
    key = load_or_create(get_settings().keys_dir)
    return SigningKeyOut(algorithm=ALGORITHM, public_key_pem=key.public_key_pem, fingerprint=key.fingerprint)


def _me(session: DbSession, principal: Principal) -> Me:
    sites = [site.name for site in list_sites(session, principal.site_ids)]
    return Me(name=principal.name, role=principal.role, sites=sites,
              all_sites=principal.site_ids is None)


@router.get("/api/v1/me", response_model=Me)
def me(session: DbSession, principal: CurrentPrincipal) -> Me:
    """Who the credentials belong to, their role and the sites they may reach."""
    return _me(session, principal)


@router.post("/api/v1/session", response_model=Me, responses={401: {}, 429: {}})
def sign_in(body: Login, request: Request, response: Response, session: DbSession) -> Me:
    """Sign in with name and token; sets the HttpOnly, SameSite=Strict cookie `gatewatch_session`."""
    check_same_origin(request)
    addr = client_addr(request) or "unknown"
    wait = login_throttle(request).retry_after(addr)
    if wait:
        raise too_many_failures(wait)
    try:
        user = check_login(session, body.name, body.token)
    except AuthError as exc:
        session.rollback()
        record_failed_login(request, body.name, str(exc), "web")
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong name or token") from exc
    cookie = start_session(session, user)
    audit.record(session, user_name=user.name, action="login", detail={"via": "web"}, remote_addr=addr)
    session.commit()
    response.set_cookie(
        SESSION_COOKIE, cookie, max_age=session_hours() * 3600, httponly=True, samesite="strict",
        secure=get_api_settings().cookie_secure or request.url.scheme == "https", path="/",
    )
    return _me(session, principal_for(user))


@router.delete("/api/v1/session", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(request: Request, session: DbSession) -> Response:
    """Sign out: ends the session on the server (the old cookie no longer works anywhere) and clears the cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        check_same_origin(request)
        end_session(session, cookie)
        session.commit()
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
