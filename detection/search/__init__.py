"""The event query layer: search filters into indexed SQL, keyset pagination, and per-bucket counts.

Both ``GET /api/v1/events`` and ``gatewatch search`` go through :func:`search_events`; the timeline summary
through :func:`summarise_events`. Site, gate and camera filters are resolved against the (small) camera table
first, so the event query itself only sees camera ids. An event matches a window when it overlaps it; to keep
that on the ``start`` indexes, ``start`` is also bounded from below by the window start minus the longest event
span, which :func:`longest_event_span` keeps up to date cheaply (see there).
"""

from __future__ import annotations

from detection.labels import LABELS as LABELS
from detection.labels import VEHICLE_LABELS as VEHICLE_LABELS
from detection.search.errors import (
    BadCursor,
    BadFilter,
    BadTimeOfDay,
    InvalidWindow,
    MalformedTime,
    SearchError,
    SearchForbidden,
    UnknownCamera,
)
from detection.search.inputs import make_query, parse_time, parse_time_of_day, resolve_cameras, shared_timezone
from detection.search.records import CameraInfo, EventQuery, SearchPage, Summary, TimeOfDay
from detection.search.services import build_search, explain, find_event, search_events, summarise_events
from detection.search.span_cache import longest_event_span
from detection.search.sql import time_of_day_intervals

__all__ = [
    "LABELS", "VEHICLE_LABELS", "BadCursor", "BadFilter", "BadTimeOfDay", "CameraInfo", "EventQuery",
    "InvalidWindow", "MalformedTime", "SearchError", "SearchForbidden", "SearchPage", "Summary", "TimeOfDay",
    "UnknownCamera", "build_search", "explain", "find_event", "longest_event_span", "make_query", "parse_time",
    "parse_time_of_day", "resolve_cameras", "search_events", "shared_timezone", "summarise_events",
    "time_of_day_intervals",
]
