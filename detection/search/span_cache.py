"""The longest event span, kept per database cheaply: what bounds ``start`` from below on the indexes."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from detection.models import Event

_span_lock = threading.Lock()
_span_cache: dict[str, tuple[int, float, float]] = {}
LATE_IDS = 5000


def span_seconds_expr(session: Session) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(Event.end) - func.julianday(Event.start)) * 86400.0
    return func.extract("epoch", Event.end - Event.start)


def longest_event_span(session: Session, stationary: bool = True) -> float:
    """Seconds of the longest event (of moving objects only, unless ``stationary``), cheaply kept per database.

    Events are only ever inserted (re-indexing deletes and inserts anew, with higher ids), so the cache keeps
    the highest id it has seen and folds in only the rows above it: an O(1) ``max(id)`` per query, and a scan
    of just the new rows when there are some. Deleted events can only make the bound looser, never wrong.
    The one gap: on PostgreSQL a transaction holding an id more than LATE_IDS below the newest when it commits
    is not looked at; its events would have to outlast every event seen so far to matter.
    Parked objects last as long as their segment; keeping them apart keeps the default search's range tight.
    """
    key = str(session.get_bind().engine.url)
    top = session.scalar(select(func.max(Event.id))) or 0
    with _span_lock:
        seen_id, moving, parked = _span_cache.get(key, (0, 0.0, 0.0))
    if top < seen_id:
        seen_id, moving, parked = 0, 0.0, 0.0  # the table was emptied or replaced: start over
    if top > seen_id:
        # On PostgreSQL an id can become visible after higher ones (a longer transaction took it earlier):
        # fold in the last LATE_IDS rows below what was seen again, cheaply, by primary key.
        rows = session.execute(
            select(Event.stationary, func.max(span_seconds_expr(session)))
            .where(Event.id > seen_id - LATE_IDS).group_by(Event.stationary)
        ).all()
        for is_parked, longest in rows:
            if is_parked:
                parked = max(parked, float(longest or 0.0))
            else:
                moving = max(moving, float(longest or 0.0))
        with _span_lock:
            _span_cache[key] = (top, moving, parked)
    return max(moving, parked) if stationary else moving
