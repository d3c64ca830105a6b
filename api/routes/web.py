"""The web page: sign-in, the officer's search page, the manager's upload page, and their static files.

The pages carry no footage data: their scripts fetch everything from the public /api/v1 API with the session
cookie, so the API's access checks are the only ones. The page routes only decide which page a visitor gets:
nobody signed in goes to /login, a manager asking for the officer's page goes to /manage, an officer asking
for /manage goes to /.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from api.auth import Principal
from api.deps import DbSession, principal_of
from api.models import Role
from footage.settings import get_settings

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
templates = Jinja2Templates(directory=WEB_DIR / "templates")

router = APIRouter(include_in_schema=False)
router.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

# The pages load only their own scripts, styles, thumbnails and clips; nothing may frame them.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
        "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _signed_in(request: Request, session: DbSession) -> Principal | None:
    """Who holds this request's session cookie (or bearer token), or None when nobody is signed in."""
    try:
        return principal_of(request, session)
    except HTTPException:
        return None


def _page(request: Request, template: str, **context: object) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context, headers=PAGE_HEADERS)


def _to_login(request: Request) -> RedirectResponse:
    # Only a local path goes into ?next=, so the sign-in page can never send anyone off-site.
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    """The sign-in form: name and token."""
    return _page(request, "login.html", page="login")


@router.get("/", response_class=HTMLResponse)
def officer_page(request: Request, session: DbSession) -> Response:
    """The officer's page: search, timeline, thumbnails, clips, cases."""
    principal = _signed_in(request, session)
    if principal is None:
        return _to_login(request)
    if principal.role == Role.MANAGER:
        return RedirectResponse("/manage", status_code=303)
    return _page(request, "officer.html", page="officer")


@router.get("/manage", response_class=HTMLResponse)
def manager_page(request: Request, session: DbSession) -> Response:
    """The manager's page: cameras of their site, resumable uploads, segments and their indexing."""
    principal = _signed_in(request, session)
    if principal is None:
        return _to_login(request)
    if principal.role == Role.OFFICER:
        return RedirectResponse("/", status_code=303)
    return _page(request, "manage.html", page="manage", chunk_bytes=get_settings().upload_chunk_bytes)
