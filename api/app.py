"""The FastAPI application: routers, the web page, and the service's start-up (migrations, local worker)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.database import migrate
from api.routes import audit, cases, clips, events, footage, jobs, plates, sites, status, system, users, web
from api.settings import get_api_settings
from footage.settings import get_settings

API = "/api/v1"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    settings.resolved_home.mkdir(parents=True, exist_ok=True)
    migrate()
    from api.audit_writer import AuditWriter
    from api.service_startup import start_background, stop_background

    app.state.audit_writer = AuditWriter()
    start_background(app)
    try:
        yield
    finally:
        # Entries still queued (and failed sign-ins counted) are written before the last checkpoint is signed.
        app.state.audit_writer.stop()
        stop_background(app)
        pool = getattr(app.state, "search_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)


def create_app() -> FastAPI:
    get_api_settings.cache_clear()
    app = FastAPI(
        title="gatewatch",
        summary="Search gate-camera footage for vehicles and people; review clips; export signed evidence.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.include_router(system.router)
    for module in (sites, footage, events, clips, cases, audit, users, jobs, status, plates):
        app.include_router(module.router, prefix=API)
    app.include_router(web.router)
    return app
