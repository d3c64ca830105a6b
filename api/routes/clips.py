"""HTTP routes: clips of an event or of a camera's time window, cut once, served with range requests."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.orm import Session

from api.auth import Principal
from api.clip_service import MAX_ROLL_S, check_window, cut_window, event_window
from api.clip_views import cut_slots, record_clip_view
from api.deps import DbSession, reachable_camera, require_role
from api.routes.events import EventId, event_or_error
from api.schemas.events import NoFootageOut
from detection.search import SearchError, parse_time
from footage.clips import BadClipWindow, Clip, ClipError, NoFootage
from footage.times import local_iso

router = APIRouter(tags=["clips"])

MP4 = {200: {"content": {"video/mp4": {}}, "description": "The clip (206 for a Range request)."},
       404: {"model": NoFootageOut, "description": "No footage in the window; spans lists what exists."}}


def _no_footage(exc: NoFootage, timezone: str) -> JSONResponse:
    spans = [{"start": local_iso(a, timezone), "end": local_iso(b, timezone)} for a, b in exc.spans[:50]]
    return JSONResponse({"detail": str(exc), "spans": spans}, status_code=status.HTTP_404_NOT_FOUND)


def _cut(session: Session, camera_id: str, start: datetime, end: datetime, exact: bool) -> Clip:
    try:
        return cut_window(session, camera_id, start, end, exact=exact, cut_guard=cut_slots.slot())
    except BadClipWindow as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    except ClipError as exc:
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, str(exc)) from exc


def _serve(request: Request, session: Session, principal: Principal, clip: Clip, obj: str, timezone: str,
           download: bool, detail: dict[str, object]) -> FileResponse:
    # Any request for the clip's bytes is a view, whatever its Range; repeats inside the window are not re-recorded.
    record_clip_view(request, session, principal, "clip_download" if download else "clip_view", obj, clip.sha256,
                     {**detail, "clip_start": clip.start.isoformat(), "clip_end": clip.end.isoformat()})
    # Named in the camera's own time, as the evidence package names its clips: a UTC stamp reads as the wrong day.
    local_start = clip.start.astimezone(ZoneInfo(timezone))
    name = f"{obj.replace(':', '-')}_{local_start.strftime('%Y%m%dT%H%M%S')}.mp4"
    headers = {
        "X-Clip-Start": local_iso(clip.start, timezone),
        "X-Clip-End": local_iso(clip.end, timezone),
        "X-Clip-SHA256": clip.sha256,
        "Cache-Control": "private, max-age=3600",
    }
    return FileResponse(clip.path, media_type="video/mp4", headers=headers, filename=name,
                        content_disposition_type="attachment" if download else "inline")


@router.get("/events/{event_id}/clip.mp4", response_class=FileResponse, responses=MP4,  # type: ignore[arg-type]
            summary="The clip of an event, with pre- and post-roll")
def event_clip(event_id: EventId, request: Request, session: DbSession,
               principal: Principal = Depends(require_role("admin", "officer")),
               pre: float = Query(5.0, ge=0, le=MAX_ROLL_S, description="Seconds before the event."),
               post: float = Query(5.0, ge=0, le=MAX_ROLL_S, description="Seconds after the event."),
               exact: bool = Query(False, description="Frame-exact re-encode instead of keyframe-aligned copy."),
               download: bool = Query(False, description="Serve as an attachment (a download) instead of inline.")):
    event, camera = event_or_error(session, principal, event_id)
    start, end = event_window(event.start, event.end, pre, post)
    try:
        clip = _cut(session, camera.id, start, end, exact)
    except NoFootage as exc:
        return _no_footage(exc, camera.timezone)
    return _serve(request, session, principal, clip, f"event:{event_id}", camera.timezone, download,
                  {"camera": camera.id, "pre": pre, "post": post, "exact": exact})


@router.get("/cameras/{camera_id}/clip.mp4", response_class=FileResponse, responses=MP4,  # type: ignore[arg-type]
            summary="A clip of a camera's time window")
def camera_clip(camera_id: str, request: Request, session: DbSession,
                principal: Principal = Depends(require_role("admin", "officer")),
                from_: str = Query(..., alias="from", description="Start, ISO 8601 (naive: camera's zone)."),
                to: str = Query(..., description="End, ISO 8601 (naive: camera's zone)."),
                exact: bool = Query(False, description="Frame-exact re-encode instead of keyframe-aligned copy."),
                download: bool = Query(False, description="Serve as an attachment (a download) instead of inline.")):
    camera = reachable_camera(session, principal, camera_id)
    try:
        start = parse_time(from_, camera.timezone, "from")
        end = parse_time(to, camera.timezone, "to")
    except SearchError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    try:
        check_window(start, end, (from_, to))
    except BadClipWindow as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    try:
        clip = _cut(session, camera.id, start, end, exact)
    except NoFootage as exc:
        return _no_footage(exc, camera.timezone)
    return _serve(request, session, principal, clip, f"camera:{camera.id}", camera.timezone, download,
                  {"from": start.isoformat(), "to": end.isoformat(), "exact": exact})
