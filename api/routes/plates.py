"""HTTP route: an event's licence-plate crop (admin and officer, scoped to their sites, each view audited).

Unlike thumbnails, plate crops are audited one by one: a plate is personal data, and the trail must show whose
plates a person looked at, not only that they searched (the audit writer batches the appends).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status

from api.deps import DbSession, record_read
from api.event_images import plate_crop_jpeg
from api.routes.events import EventId, Searcher, event_or_error

router = APIRouter(tags=["events"])


@router.get("/events/{event_id}/plate.jpg", response_class=Response, summary="The event's licence-plate crop (JPEG)",
            responses={200: {"content": {"image/jpeg": {}}}})
def event_plate_crop(event_id: EventId, request: Request, session: DbSession, principal: Searcher) -> Response:
    event, camera = event_or_error(session, principal, event_id)
    jpeg = plate_crop_jpeg(session, event_id)
    if jpeg is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"event {event_id} has no plate crop (no plate was read)")
    record_read(request, principal, "plate_view", f"event:{event_id}", {"camera": camera.id, "plate": event.plate})
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})
