"""User input into an EventQuery: times, time-of-day ranges, labels, the cameras a filter names, validation."""

from __future__ import annotations

import re
from datetime import datetime, time

from sqlalchemy.orm import Session

from detection.labels import LABEL_HELP, LABELS, VEHICLE_WORD, VEHICLES
from detection.search.errors import (
    BadFilter,
    BadTimeOfDay,
    InvalidWindow,
    MalformedTime,
    SearchForbidden,
    UnknownCamera,
)
from detection.search.records import MAX_LIMIT, SORTS, CameraInfo, EventQuery, TimeOfDay
from footage import times
from footage.camera_cache import camera_rows

_TOD = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*-\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def parse_time_of_day(value: str) -> TimeOfDay:
    match = _TOD.match(value or "")
    if not match:
        raise BadTimeOfDay(f"time of day {value!r} is not a range like 22:00-06:00; write HH:MM-HH:MM")
    h1, m1, s1, h2, m2, s2 = match.groups()
    try:
        start = time(int(h1), int(m1), int(s1 or 0))
        midnight = h2 == "24" and m2 == "00" and not s2
        end = time(0, 0) if midnight else time(int(h2), int(m2), int(s2 or 0))
    except ValueError as exc:
        raise BadTimeOfDay(f"time of day {value!r} has an impossible time ({exc}); use 00:00 to 23:59") from exc
    if start == end:
        raise BadTimeOfDay(f"time of day {value!r} starts and ends at the same time; give a range that is not empty")
    return TimeOfDay(start, end)


def parse_time(value: str | datetime, timezone: str | None, what: str = "time") -> datetime:
    """:func:`footage.times.parse_time` (None zone: an offset is required), its mistakes as MalformedTime."""
    try:
        return times.parse_time(value, timezone, what)
    except times.BadTime as exc:
        raise MalformedTime(str(exc)) from exc


# --- cameras ----------------------------------------------------------------------------------------------------

def resolve_cameras(session: Session, sites: list[str], gates: list[str], cameras: list[str],
                    site_ids: frozenset[int] | None = None) -> list[CameraInfo]:
    """The cameras the site/gate/camera filters select, that the asker (``site_ids``; None: all) may reach."""
    # This runs on every search and reads the camera table whole: kept for a moment (footage.camera_cache).
    rows = camera_rows(session)
    reachable = [row for row in rows if site_ids is None or row.site_id in site_ids]

    def check(asked: list[str], kind: str, key: str) -> set[str]:
        known = {getattr(row, key).casefold() for row in reachable}
        for name in asked:
            if name.casefold() in known:
                continue
            if site_ids is not None:
                # Unreachable and missing look alike to someone restricted to some sites.
                raise SearchForbidden(f"your role or site does not allow searching {kind} {name!r}")
            names = sorted({getattr(row, key) for row in rows})
            choices = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
            raise UnknownCamera(f"there is no {kind} {name!r}; known {kind}s: {choices or 'none yet'}")
        return {name.casefold() for name in asked}

    site_set, camera_set, gate_set = check(sites, "site", "site"), check(cameras, "camera", "id"), \
        check(gates, "gate", "gate")
    return [
        CameraInfo(row.id, row.site, row.gate, row.timezone or "UTC")
        for row in reachable
        if (not site_set or row.site.casefold() in site_set)
        and (not gate_set or row.gate.casefold() in gate_set)
        and (not camera_set or row.id.casefold() in camera_set)
    ]


def shared_timezone(cameras: list[CameraInfo]) -> str | None:
    """The one time zone all these cameras share, or None when they differ (or there are none)."""
    zones = {c.timezone for c in cameras}
    return zones.pop() if len(zones) == 1 else None


def make_query(session: Session, *, sites: list[str] | None = None, gates: list[str] | None = None,
               cameras: list[str] | None = None, start: str | datetime | None = None,
               end: str | datetime | None = None, time_of_day: str | None = None, labels: list[str] | None = None,
               zones: list[str] | None = None, min_dwell: float | None = None, stationary: bool = False,
               colours: list[str] | None = None, min_score: float | None = None, sort: str = "time",
               limit: int = 50, cursor: str | None = None,
               site_ids: frozenset[int] | None = None, plate: str | None = None) -> EventQuery:
    """An EventQuery from user input; times without an offset are read in the selected cameras' time zone."""
    sites, gates, cameras = clean_values(sites, False), clean_values(gates, False), clean_values(cameras, False)
    chosen = resolve_cameras(session, sites, gates, cameras, site_ids)
    zone = shared_timezone(chosen)

    def when(value: str | datetime | None, what: str) -> datetime | None:
        if value is None or value == "":
            return None
        return parse_time(value, zone, what)

    query = EventQuery(
        sites=sites, gates=gates, cameras=cameras, start=when(start, "from"), end=when(end, "to"),
        time_of_day=parse_time_of_day(time_of_day) if time_of_day else None, labels=clean_values(labels),
        zones=clean_values(zones, False), min_dwell=min_dwell, stationary=stationary, colours=clean_values(colours),
        min_score=min_score, sort=sort, limit=limit, cursor=cursor or None, resolved=(site_ids, chosen),
        plate=plate.strip() if plate and plate.strip() else None,
    )
    validate_query(query)
    return query


def clean_values(values: list[str] | None, split: bool = True) -> list[str]:
    """Drop empty values; split comma-separated ones (``label=car,truck``) where names cannot hold commas."""
    out: list[str] = []
    for value in values or []:
        parts = value.split(",") if split else [value]
        out.extend(part.strip() for part in parts if part.strip())
    return out


def expand_labels(labels: list[str]) -> list[str]:
    wanted: list[str] = []
    for label in labels:
        name = label.strip().lower()
        if name in (VEHICLE_WORD, VEHICLE_WORD + "s"):
            wanted.extend(VEHICLES)
        elif name in LABELS:
            wanted.append(name)
        else:
            raise BadFilter(f"label {label!r} is not known; use one of {LABEL_HELP}")
    return sorted(set(wanted))


def validate_query(query: EventQuery) -> None:
    if query.sort not in SORTS:
        raise BadFilter(f"sort {query.sort!r} is not known; use time, -time or score")
    if not 1 <= query.limit <= MAX_LIMIT:
        raise BadFilter(f"limit {query.limit} is out of range; use 1 to {MAX_LIMIT}")
    if query.min_score is not None and not 0.0 <= query.min_score <= 1.0:
        raise BadFilter(f"min_score {query.min_score} is out of range; use 0 to 1")
    if query.min_dwell is not None and query.min_dwell < 0:
        raise BadFilter(f"min_dwell {query.min_dwell} is negative; give seconds, 0 or more")
    for value, what in ((query.start, "from"), (query.end, "to")):
        if value is not None and value.tzinfo is None:
            raise MalformedTime(f"{what} {value.isoformat()} has no time zone; add an offset such as +08:00")
        if value is not None:
            try:
                times.check_year(value, what)
            except times.BadTime as exc:
                raise MalformedTime(str(exc)) from exc
    for values, what in ((query.zones, "zone"), (query.colours, "colour"), (query.sites, "site"),
                         (query.gates, "gate"), (query.cameras, "camera")):
        for name in values:
            if len(name) > 200 or any(ord(ch) < 32 for ch in name):
                raise BadFilter(f"{what} {name[:40]!r} is not a name; give it without control characters, "
                                "in 200 characters or fewer")
    if query.start and query.end and query.end <= query.start:
        raise InvalidWindow(f"the window ends ({query.end.isoformat()}) before it starts "
                            f"({query.start.isoformat()}); give a 'to' later than 'from'")
    if query.time_of_day and not (query.start and query.end):
        raise InvalidWindow("a time-of-day range needs a window to repeat over; give from and to as well")
    if query.plate is not None:
        from detection.plates.search import PlateQueryError, check_plate_query

        try:
            check_plate_query(query.plate)
        except PlateQueryError as exc:
            raise BadFilter(str(exc)) from exc
