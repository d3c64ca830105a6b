"""The stored pictures of an event (best crop, licence-plate crop), read for the HTTP routes.

The routes check that the caller may see the event first (``api.routes.events.event_or_error``); these only read.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from detection.models import EventPlateCrop, EventThumbnail


def thumbnail_jpeg(session: Session, event_id: int) -> bytes | None:
    """The event's best crop as JPEG, or None when it has none."""
    thumb = session.get(EventThumbnail, event_id)
    return None if thumb is None else thumb.jpeg


def plate_crop_jpeg(session: Session, event_id: int) -> bytes | None:
    """The event's licence-plate crop as JPEG, or None when no plate was read."""
    crop = session.get(EventPlateCrop, event_id)
    return None if crop is None else crop.jpeg
