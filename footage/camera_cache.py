"""The camera list every search starts from (camera, gate, time zone, site), kept for a moment per database.

Each search resolves its site/gate/camera filters against the whole camera table; reading and converting it cost
about a sixth of a search's CPU. A change to a camera or site clears this process's cache when it is flushed and
again when it commits, and bumps the ``cameras`` change stamp (``footage.change_stamp``) that every process checks,
so the CLI's or another service process's change is seen by the next search. One made by hand in SQL is seen
within ``TTL_S``. A generation count stops a read begun before such a change from being stored after it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import Row, event, select
from sqlalchemy.orm import Session

from footage import change_stamp
from footage.models import Camera, Site

TTL_S = 2.0

_lock = threading.Lock()
_rows: dict[str, tuple[float, int, list[Row[Any]]]] = {}
STAMP = "cameras"
_generation = 0


def clear() -> None:
    global _generation
    with _lock:
        _generation += 1
        _rows.clear()


def camera_rows(session: Session) -> list[Row[Any]]:
    """Every camera with its site (id, gate, timezone, site_id, site), ordered by camera id."""
    key = str(session.get_bind().engine.url)
    found = _rows.get(key)
    stamp = change_stamp.current(STAMP)
    if found is not None and found[0] >= time.monotonic() and found[1] == stamp:
        return found[2]
    generation = _generation
    # Plain columns, not ORM objects.
    rows: list[Row[Any]] = list(session.execute(  # type: ignore[arg-type]  # Row is invariant in its tuple
        select(Camera.id, Camera.gate, Camera.timezone, Site.id.label("site_id"), Site.name.label("site"))
        .join(Site, Camera.site_id == Site.id).order_by(Camera.id)
    ).all())
    with _lock:
        if generation == _generation:
            _rows[key] = (time.monotonic() + TTL_S, stamp, rows)
    return rows


def _touches_cameras(session: Session) -> bool:
    return any(isinstance(obj, (Camera, Site)) for obj in (*session.new, *session.dirty, *session.deleted))


@event.listens_for(Session, "after_flush")
def _note_camera_change(session: Session, _context: Any) -> None:
    if _touches_cameras(session) or session.info.get("cameras_changed"):
        session.info["cameras_changed"] = True
        clear()


@event.listens_for(Session, "after_commit")
def _forget_on_commit(session: Session) -> None:
    if session.info.pop("cameras_changed", False):
        clear()
        change_stamp.bump(STAMP)


@event.listens_for(Session, "after_rollback")
def _forget_flag(session: Session) -> None:
    session.info.pop("cameras_changed", None)
