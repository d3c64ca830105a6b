"""The three services: a page of events, one event, and per-bucket counts for the timeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, cast, func, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from detection.models import Event
from detection.search.cursors import encode_cursor, keyset_after
from detection.search.errors import BadCursor, BadFilter, InvalidWindow, SearchForbidden
from detection.search.inputs import resolve_cameras, validate_query
from detection.search.records import MAX_BUCKETS, BucketCount, CameraCounts, CameraInfo, EventQuery, SearchPage, Summary
from detection.search.sql import EVENT_COLUMNS, search_conditions
from footage.models import Camera, Site


def cameras_of(session: Session, query: EventQuery, site_ids: frozenset[int] | None) -> list[CameraInfo]:
    if query.resolved is not None and query.resolved[0] == site_ids:
        return query.resolved[1]
    return resolve_cameras(session, query.sites, query.gates, query.cameras, site_ids)


def build_search(session: Session, query: EventQuery, site_ids: frozenset[int] | None = None):
    """The SELECT a search runs (and the cameras it covers); exposed so tests and the bench can EXPLAIN it."""
    validate_query(query)
    cameras = cameras_of(session, query, site_ids)
    unfiltered = not (query.sites or query.gates or query.cameras) and site_ids is None
    conditions = search_conditions(session, query, cameras, unfiltered)
    after, order = keyset_after(query.sort, query.cursor)
    statement = (
        select(*EVENT_COLUMNS).where(*conditions, *after).order_by(*order)
        .limit(query.limit + 1)
    )
    return statement, cameras


def search_events(session: Session, query: EventQuery, site_ids: frozenset[int] | None = None) -> SearchPage:
    """One page of the events matching ``query`` that the asker may see (a plate query: closest plates first)."""
    if query.plate:
        from detection.plates.search import PlateQueryError, plate_page

        try:
            return plate_page(session, query, site_ids)
        except PlateQueryError as exc:
            raise BadCursor(str(exc)) from exc
    statement, cameras = build_search(session, query, site_ids)
    rows = list(session.execute(statement).all())
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    info = {c.id: c for c in cameras}
    next_cursor = encode_cursor(query.sort, rows[-1]) if more and rows else None
    return SearchPage(events=rows, cameras=info, next_cursor=next_cursor)


def explain(session: Session, statement: Any, analyze: bool = False) -> list[str]:
    """The plan of a statement: SQLite's EXPLAIN QUERY PLAN lines, PostgreSQL's EXPLAIN (with ``analyze``:
    EXPLAIN (ANALYZE, BUFFERS), which runs it again and adds times and pages read); empty on other databases.

    The statement runs once so that SQLAlchemy renders its final SQL and parameters; the plan of exactly
    that SQL is then asked for.
    """
    bind = session.get_bind()
    prefix = {"sqlite": "EXPLAIN QUERY PLAN ",
              "postgresql": "EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN "}.get(bind.dialect.name)
    if prefix is None:
        return []
    captured: dict[str, Any] = {}

    def grab(conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, executemany: bool) -> None:
        captured.setdefault("sql", sql)
        captured.setdefault("params", parameters)

    connection = session.connection()
    sa_event.listen(connection, "before_cursor_execute", grab)
    try:
        connection.execute(statement).all()
    finally:
        sa_event.remove(connection, "before_cursor_execute", grab)
    rows = connection.exec_driver_sql(prefix + captured["sql"], captured["params"]).all()
    return [str(row[-1]) for row in rows]


def find_event(session: Session, event_id: int, site_ids: frozenset[int] | None = None) -> tuple[Event, CameraInfo]:
    """One event and its camera; LookupError when missing, SearchForbidden when out of the asker's sites."""
    row = session.execute(
        select(Event, Camera, Site).join(Camera, Event.camera_id == Camera.id).join(Site, Camera.site_id == Site.id)
        .where(Event.id == event_id)
    ).first()
    if row is None:
        raise LookupError(f"there is no event {event_id}")
    event, camera, site = row
    if site_ids is not None and site.id not in site_ids:
        raise SearchForbidden(f"your role or site does not allow viewing event {event_id}")
    return event, CameraInfo(camera.id, site.name, camera.gate, camera.timezone or "UTC")


def summarise_events(session: Session, query: EventQuery, bucket_s: int = 3600,
                     site_ids: frozenset[int] | None = None) -> Summary:
    """Counts of matching events per camera per bucket (by the bucket the event starts in) over the window."""
    if query.start is None or query.end is None:
        raise InvalidWindow("a summary needs a window; give from and to")
    if bucket_s < 60:
        raise BadFilter(f"bucket {bucket_s} s is too small; use 60 seconds or more")
    validate_query(query)
    if (query.end - query.start).total_seconds() / bucket_s > MAX_BUCKETS:
        raise BadFilter(f"the window holds more than {MAX_BUCKETS} buckets of {bucket_s} s; use a larger bucket")
    cameras = cameras_of(session, query, site_ids)
    unfiltered = not (query.sites or query.gates or query.cameras) and site_ids is None
    conditions = search_conditions(session, query, cameras, unfiltered)
    origin = query.start
    if session.get_bind().dialect.name == "sqlite":
        offset = (func.julianday(Event.start) - func.julianday(origin.replace(tzinfo=None))) * 86400.0
    else:
        offset = func.extract("epoch", Event.start - origin)
    # Events that began before the window (and overlap it) count in its first bucket.
    bucket: ColumnElement[Any]
    if session.get_bind().dialect.name == "sqlite":
        bucket = func.max(cast(offset / bucket_s, Integer), 0)
    else:
        bucket = func.greatest(func.floor(offset / bucket_s), 0)
    rows: Sequence[tuple[str, int, int]]
    if query.plate:
        from detection.plates.search import plate_buckets

        rows = plate_buckets(session, query, site_ids, bucket_s)  # the events a plate search lists, counted
    else:
        rows = session.execute(
            select(Event.camera_id, bucket.label("b"), func.count().label("n")).where(*conditions)
            .group_by(Event.camera_id, bucket)
        ).tuples().all()
    counts: dict[str, list[BucketCount]] = {c.id: [] for c in cameras}
    for camera_id, b, n in rows:
        counts.setdefault(camera_id, []).append(
            BucketCount(origin + timedelta(seconds=int(b) * bucket_s), int(n)))
    return Summary(
        bucket_s=bucket_s, start=query.start, end=query.end,
        cameras=[CameraCounts(c, sorted(counts.get(c.id, []), key=lambda x: x.start)) for c in cameras],
    )
