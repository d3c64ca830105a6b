"""The WHERE clause of a search: window overlap on the start indexes, time-of-day intervals, filters."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Text, and_, false, func, or_
from sqlalchemy.orm import Session

from detection.models import Event
from detection.search.errors import InvalidWindow
from detection.search.inputs import expand_labels
from detection.search.records import MAX_TIME_OF_DAY_DAYS, CameraInfo, EventQuery, TimeOfDay
from detection.search.span_cache import longest_event_span


def overlap_clause(start: datetime, end: datetime, span_s: float) -> ColumnElement[bool]:
    # The lower bound on start is implied by the other two; it is there so the start indexes bound the scan.
    return and_(Event.start >= start - timedelta(seconds=span_s + 1), Event.start < end, Event.end > start)


def time_of_day_intervals(tod: TimeOfDay, start: datetime, end: datetime, timezone: str) -> list[tuple[datetime,
                                                                                                       datetime]]:
    """The UTC intervals of a daily local range within ``[start, end)``, in one time zone."""
    zone = ZoneInfo(timezone)
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    days = (last - first).days + 1
    if days > MAX_TIME_OF_DAY_DAYS:
        raise InvalidWindow(f"a time-of-day search covers at most {MAX_TIME_OF_DAY_DAYS} days; narrow from/to")
    intervals: list[tuple[datetime, datetime]] = []
    for n in range(days):
        day: date = first + timedelta(days=n)
        a = datetime.combine(day, tod.start, tzinfo=zone)
        b_day = day if tod.end > tod.start else day + timedelta(days=1)
        b = datetime.combine(b_day, tod.end, tzinfo=zone)
        a_utc, b_utc = max(a.astimezone(UTC), start), min(b.astimezone(UTC), end)
        if a_utc < b_utc:
            intervals.append((a_utc, b_utc))
    return intervals


def zone_pattern(zone: str) -> str:
    # zones is a JSON list; match the JSON-encoded name with its quotes, LIKE wildcards escaped.
    encoded = json.dumps(zone)
    return "%" + encoded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_conditions(session: Session, query: EventQuery, cameras: list[CameraInfo],
                all_cameras: bool) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if not cameras:
        return [false()]
    if not all_cameras:
        conditions.append(Event.camera_id.in_([c.id for c in cameras]))
    span = longest_event_span(session, query.stationary) if (query.start or query.end) else 0.0
    if query.time_of_day is not None:
        assert query.start is not None and query.end is not None
        by_zone: dict[str, list[str]] = {}
        for camera in cameras:
            by_zone.setdefault(camera.timezone, []).append(camera.id)
        parts: list[ColumnElement[bool]] = []
        for zone_name, ids in sorted(by_zone.items()):
            intervals = time_of_day_intervals(query.time_of_day, query.start, query.end, zone_name)
            if not intervals:
                continue
            windows = or_(*(overlap_clause(a, b, span) for a, b in intervals))
            parts.append(windows if len(by_zone) == 1 else and_(Event.camera_id.in_(ids), windows))
        conditions.append(or_(*parts) if parts else false())
        # The whole window as well: SQLite cannot range-scan an OR of ranges, but it can scan this one.
        conditions.append(overlap_clause(query.start, query.end, span))
    else:
        if query.start is not None and query.end is not None:
            conditions.append(overlap_clause(query.start, query.end, span))
        elif query.start is not None:
            conditions.append(Event.end > query.start)
        elif query.end is not None:
            conditions.append(Event.start < query.end)
    labels = expand_labels(query.labels)
    if labels:
        conditions.append(Event.label.in_(labels))
    if query.zones:
        conditions.append(or_(*(Event.zones.cast(Text()).like(zone_pattern(z), escape="\\")
                                for z in query.zones)))
    if query.min_dwell is not None:
        conditions.append(Event.dwell_s >= query.min_dwell)
    if not query.stationary:
        conditions.append(Event.stationary == false())
    if query.colours:
        conditions.append(func.lower(Event.colour).in_([c.strip().lower() for c in query.colours]))
    if query.min_score is not None:
        conditions.append(Event.score >= query.min_score)
    return conditions


EVENT_COLUMNS = tuple(column for column in Event.__table__.c if column.key != "track")
