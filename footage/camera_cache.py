"""The camera list every search starts from (camera, gate, time zone, site), kept for a moment per database.

Each search resolves its site/gate/camera filters against the whole camera table; reading and converting it cost
about a sixth of a search's CPU. A change to a camera or site ends the cache at once in every process
(``footage.stamped_cache``); one made by hand in SQL is seen within the TTL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from footage.models import Camera, Site
from footage.stamped_cache import StampedCache

TTL_S = 2.0

_cameras: StampedCache[list[Row[Any]]] = StampedCache("cameras", (Camera, Site), TTL_S)


def clear() -> None:
    _cameras.clear()


def camera_rows(session: Session) -> list[Row[Any]]:
    """Every camera with its site (id, gate, timezone, site_id, site), ordered by camera id."""
    key = str(session.get_bind().engine.url)
    found = _cameras.get(key)
    if found is not None:
        return found
    ticket = _cameras.ticket()
    # Plain columns, not ORM objects.
    rows: list[Row[Any]] = list(session.execute(  # type: ignore[arg-type]  # Row is invariant in its tuple
        select(Camera.id, Camera.gate, Camera.timezone, Site.id.label("site_id"), Site.name.label("site"))
        .join(Site, Camera.site_id == Site.id).order_by(Camera.id)
    ).all())
    _cameras.put(key, rows, ticket)
    return rows
