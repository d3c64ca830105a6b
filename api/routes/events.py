"""HTTP routes: event search, the timeline summary, one event and its thumbnail (admin and officer)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi import Path as FastApiPath
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import FORBIDDEN, DbSession, record_read, record_read_async, require_role
from api.event_images import thumbnail_jpeg
from api.schemas.events import (
    SEARCH_OPENAPI,
    EventDetail,
    EventPage,
    SearchParams,
    SummaryOut,
    event_fields,
    search_params,
)
from detection.coverage import footage_coverage
from detection.search import (
    EventQuery,
    SearchError,
    SearchForbidden,
    find_event,
    make_query,
    search_events,
    shared_timezone,
    summarise_events,
)
from footage.db import session_factory

router = APIRouter(tags=["events"])

Searcher = Annotated[Principal, Depends(require_role("admin", "officer"))]
Params = Annotated[SearchParams, Depends(search_params)]
EventId = Annotated[int, FastApiPath(ge=1, le=2**62, description="Event id.")]


def build_query(session: Session, principal: Principal, params: SearchParams) -> EventQuery:
    """The service query for these parameters; bad input becomes a 422 that says what to fix."""
    try:
        return make_query(
            session, sites=params.site, gates=params.gate, cameras=params.camera, start=params.from_,
            end=params.to, time_of_day=params.time_of_day, labels=params.label, zones=params.zone,
            min_dwell=params.min_dwell, stationary=params.stationary, colours=params.colour,
            min_score=params.min_score, sort=params.sort, limit=params.limit, cursor=params.cursor,
            site_ids=principal.site_ids, plate=params.plate,
        )
    except SearchForbidden as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, FORBIDDEN) from exc
    except SearchError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


def event_or_error(session: Session, principal: Principal, event_id: int):
    """The event and its camera, or 404 (403 for askers restricted to some sites, who must learn nothing)."""
    try:
        return find_event(session, event_id, principal.site_ids)
    except SearchForbidden as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, FORBIDDEN) from exc
    except LookupError as exc:
        if principal.site_ids is not None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, FORBIDDEN) from exc
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


SEARCH_THREADS = 4


def search_pool(request: Request) -> ThreadPoolExecutor:
    """The threads of searches' database work: a few of their own, taken in arrival order (with one thread
    per waiting request, fifty searches fought over the GIL and the slowest waited twice as long as the median).
    A plain executor: anyio's limiter and cancel-scope checks around each hand-off cost ~10 % of a search's CPU."""
    pool = getattr(request.app.state, "search_pool", None)
    if pool is None:
        pool = request.app.state.search_pool = ThreadPoolExecutor(SEARCH_THREADS, thread_name_prefix="gw-search")
    return pool


def _search_page(principal: Principal, params: SearchParams) -> tuple[str, dict[str, object]]:
    """The page as JSON and what the audit entry says about the search."""
    # A session of its own, closed (its connection handed back) before the route waits for the audit commit:
    # waiting searches must not hold connections.
    with session_factory()() as session:
        query = build_query(session, principal, params)
        try:
            page = search_events(session, query, principal.site_ids)
        except SearchError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    # Validated once and written as JSON here: returned as a model, FastAPI would validate and encode it again.
    out = EventPage.model_validate({"events": [event_fields(e, page.cameras[e.camera_id]) for e in page.events],
                                    "next_cursor": page.next_cursor}).model_dump_json()
    return out, {**query.describe(), "results": len(page.events)}


@router.get("/events", response_model=EventPage, summary="Search events", openapi_extra=SEARCH_OPENAPI)
async def list_events(request: Request, principal: Searcher, params: Params) -> Response:
    """Events matching the filters, a page at a time; follow ``next_cursor`` for the rest."""
    out, detail = await asyncio.get_running_loop().run_in_executor(search_pool(request), _search_page, principal,
                                                                    params)
    # The answer goes out only once its audit entry is committed (or the request fails with 503).
    await record_read_async(request, principal, "search", "events", detail)
    return Response(out, media_type="application/json")


@router.get("/events/summary", response_model=SummaryOut, response_model_by_alias=True,
            summary="Counts of events per camera per bucket", openapi_extra=SEARCH_OPENAPI)
def events_summary(request: Request, session: DbSession, principal: Searcher, params: Params,
                   bucket: int = Query(3600, ge=60, le=31 * 86400, description="Bucket width in seconds.")
                   ) -> SummaryOut:
    query = build_query(session, principal, params)
    try:
        summary = summarise_events(session, query, bucket, principal.site_ids)
    except SearchError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    zone = shared_timezone([c.camera for c in summary.cameras]) or "UTC"
    coverage = footage_coverage(session, [c.camera.id for c in summary.cameras], summary.start, summary.end)
    record_read(request, principal, "search_summary", "events", {**query.describe(), "bucket_s": bucket})
    return SummaryOut.of(summary, zone, coverage)


@router.get("/events/{event_id}", response_model=EventDetail, summary="One event with its track")
def get_event(event_id: EventId, request: Request, session: DbSession, principal: Searcher) -> EventDetail:
    event, camera = event_or_error(session, principal, event_id)
    record_read(request, principal, "event_view", f"event:{event_id}", {"camera": camera.id})
    return EventDetail.of(event, camera)


@router.get("/events/{event_id}/thumbnail.jpg", response_class=Response, summary="The event's best crop (JPEG)",
            responses={200: {"content": {"image/jpeg": {}}}})
def event_thumbnail(event_id: EventId, session: DbSession, principal: Searcher) -> Response:
    # Not audited one by one: a results page loads fifty, and the search that listed them is recorded.
    event_or_error(session, principal, event_id)
    jpeg = thumbnail_jpeg(session, event_id)
    if jpeg is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"event {event_id} has no thumbnail")
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


__all__ = ["EventId", "build_query", "event_or_error", "router"]
