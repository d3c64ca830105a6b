"""The event query layer: search filters into indexed SQL, keyset pagination, and per-bucket counts.

Both ``GET /api/v1/events`` and ``gatewatch search`` go through :func:`search_events`; the timeline summary
through :func:`summarise_events`. Site, gate and camera filters are resolved against the (small) camera table
first, so the event query itself only sees camera ids. An event matches a window when it overlaps it; to keep
that on the ``start`` indexes, ``start`` is also bounded from below by the window start minus the longest event
span, which :func:`longest_event_span` keeps up to date cheaply (see there).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, Text, and_, cast, false, func, or_, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from detection.labels import LABEL_HELP, LABELS, VEHICLE_LABELS, VEHICLE_WORD, VEHICLES
from detection.models import Event
from footage import catalogue, times
from footage.camera_cache import camera_rows
from footage.models import Camera, Site

SORTS = ("time", "-time", "score")
MAX_LIMIT = 500
MAX_TIME_OF_DAY_DAYS = 400
MAX_BUCKETS = 20_000


class SearchError(ValueError):
    """A search that cannot run as asked; the message says what to fix."""


class InvalidWindow(SearchError):
    """The time window is reversed, empty or missing where it is needed."""


class MalformedTime(SearchError):
    """A time that is not ISO 8601, or has no offset where one is needed."""


class BadTimeOfDay(SearchError):
    """A time-of-day range that is not ``HH:MM-HH:MM``."""


class UnknownCamera(SearchError, catalogue.UnknownCamera):
    """A camera, site or gate named in the filters does not exist (a catalogue.UnknownCamera too)."""


class BadFilter(SearchError):
    """A label, sort, limit, score or similar filter value is out of range."""


class BadCursor(SearchError):
    """A pagination cursor that this search did not hand out."""


class SearchForbidden(PermissionError):
    """The filters name a camera or site the asker may not reach."""


@dataclass(frozen=True)
class TimeOfDay:
    """A daily range of local wall-clock time; ``end <= start`` means it runs over midnight."""

    start: time
    """Local time the range starts each day."""
    end: time
    """Local time the range ends (the next day when not after ``start``)."""

    def __str__(self) -> str:
        return f"{self.start.strftime('%H:%M')}-{self.end.strftime('%H:%M')}"


@dataclass
class EventQuery:
    """What to look for. Empty lists mean no restriction."""

    sites: list[str] = field(default_factory=list)
    """Site names (any of)."""
    gates: list[str] = field(default_factory=list)
    """Gate names, matched without regard to case (any of)."""
    cameras: list[str] = field(default_factory=list)
    """Camera ids (any of)."""
    start: datetime | None = None
    """Window start (aware); events that end after it match."""
    end: datetime | None = None
    """Window end (aware); events that start before it match."""
    time_of_day: TimeOfDay | None = None
    """Daily range in each camera's time zone, within the window."""
    labels: list[str] = field(default_factory=list)
    """Labels (see detection.labels), or vehicle for all vehicles."""
    zones: list[str] = field(default_factory=list)
    """Zone names the object entered (any of)."""
    min_dwell: float | None = None
    """Least seconds the object stood still."""
    stationary: bool = False
    """Include stationary (parked) objects too."""
    colours: list[str] = field(default_factory=list)
    """Vehicle colours as words (any of)."""
    min_score: float | None = None
    """Least detector confidence."""
    plate: str | None = None
    """A licence plate (fuzzy: see ``detection.plates.text.match_distance``); results ranked by closeness."""
    sort: str = "time"
    """time (oldest first), -time (newest first) or score (best first)."""
    limit: int = 50
    """Most events in one page."""
    cursor: str | None = None
    """Where the previous page stopped (opaque)."""
    resolved: tuple[frozenset[int] | None, list[CameraInfo]] | None = field(default=None, repr=False, compare=False)
    """The cameras make_query resolved for these filters, and for which asker (saves a second look-up)."""

    def describe(self) -> dict[str, Any]:
        """The filters as plain JSON values, for the audit trail."""
        return {
            "site": self.sites, "gate": self.gates, "camera": self.cameras,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "time_of_day": str(self.time_of_day) if self.time_of_day else None,
            "label": self.labels, "zone": self.zones, "min_dwell": self.min_dwell,
            "stationary": self.stationary, "colour": self.colours, "min_score": self.min_score,
            "plate": self.plate, "sort": self.sort, "limit": self.limit, "cursor": self.cursor,
        }


@dataclass(frozen=True)
class CameraInfo:
    """What a result needs to know about its camera."""

    id: str
    """Camera id."""
    site: str
    """Site name."""
    gate: str
    """Gate name."""
    timezone: str
    """IANA time zone the camera's times are shown in."""


@dataclass
class SearchPage:
    """One page of events and where the next one starts."""

    events: list[Any]
    """Matching events as rows with the event's columns but ``track`` (plain rows: no ORM bookkeeping)."""
    cameras: dict[str, CameraInfo]
    """The cameras of these events, by id."""
    next_cursor: str | None
    """Cursor for the next page, None on the last page."""


@dataclass
class BucketCount:
    """Events of one camera starting in one bucket."""

    start: datetime
    """Bucket start (aware UTC)."""
    count: int
    """Number of matching events."""


@dataclass
class CameraCounts:
    """A camera's non-empty buckets."""

    camera: CameraInfo
    """The camera."""
    counts: list[BucketCount]
    """Buckets with at least one event, oldest first."""


@dataclass
class Summary:
    """Counts per camera per bucket over a window."""

    bucket_s: int
    """Bucket width in seconds."""
    start: datetime
    """Window start (aware UTC)."""
    end: datetime
    """Window end (aware UTC)."""
    cameras: list[CameraCounts]
    """Every camera the filters select, with its counts."""


# --- parsing user input ---------------------------------------------------------------------------------------

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
    sites, gates, cameras = _clean(sites, False), _clean(gates, False), _clean(cameras, False)
    chosen = resolve_cameras(session, sites, gates, cameras, site_ids)
    zone = shared_timezone(chosen)

    def when(value: str | datetime | None, what: str) -> datetime | None:
        if value is None or value == "":
            return None
        return parse_time(value, zone, what)

    query = EventQuery(
        sites=sites, gates=gates, cameras=cameras, start=when(start, "from"), end=when(end, "to"),
        time_of_day=parse_time_of_day(time_of_day) if time_of_day else None, labels=_clean(labels),
        zones=_clean(zones, False), min_dwell=min_dwell, stationary=stationary, colours=_clean(colours),
        min_score=min_score, sort=sort, limit=limit, cursor=cursor or None, resolved=(site_ids, chosen),
        plate=plate.strip() if plate and plate.strip() else None,
    )
    _validate(query)
    return query


def _clean(values: list[str] | None, split: bool = True) -> list[str]:
    """Drop empty values; split comma-separated ones (``label=car,truck``) where names cannot hold commas."""
    out: list[str] = []
    for value in values or []:
        parts = value.split(",") if split else [value]
        out.extend(part.strip() for part in parts if part.strip())
    return out


# --- the longest event span -------------------------------------------------------------------------------------

_span_lock = threading.Lock()
_span_cache: dict[str, tuple[int, float, float]] = {}
LATE_IDS = 5000


def _span_seconds_expr(session: Session) -> ColumnElement[Any]:
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
    key = str(session.get_bind().url)
    top = session.scalar(select(func.max(Event.id))) or 0
    with _span_lock:
        seen_id, moving, parked = _span_cache.get(key, (0, 0.0, 0.0))
    if top < seen_id:
        seen_id, moving, parked = 0, 0.0, 0.0  # the table was emptied or replaced: start over
    if top > seen_id:
        # On PostgreSQL an id can become visible after higher ones (a longer transaction took it earlier):
        # fold in the last LATE_IDS rows below what was seen again, cheaply, by primary key.
        rows = session.execute(
            select(Event.stationary, func.max(_span_seconds_expr(session)))
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


# --- building the query -----------------------------------------------------------------------------------------

def _overlap(start: datetime, end: datetime, span_s: float) -> ColumnElement[bool]:
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


def _labels(labels: list[str]) -> list[str]:
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


def _zone_pattern(zone: str) -> str:
    # zones is a JSON list; match the JSON-encoded name with its quotes, LIKE wildcards escaped.
    encoded = json.dumps(zone)
    return "%" + encoded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _validate(query: EventQuery) -> None:
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
        for value in values:
            if len(value) > 200 or any(ord(ch) < 32 for ch in value):
                raise BadFilter(f"{what} {value[:40]!r} is not a name; give it without control characters, "
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


def _conditions(session: Session, query: EventQuery, cameras: list[CameraInfo],
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
            windows = or_(*(_overlap(a, b, span) for a, b in intervals))
            parts.append(windows if len(by_zone) == 1 else and_(Event.camera_id.in_(ids), windows))
        conditions.append(or_(*parts) if parts else false())
        # The whole window as well: SQLite cannot range-scan an OR of ranges, but it can scan this one.
        conditions.append(_overlap(query.start, query.end, span))
    else:
        if query.start is not None and query.end is not None:
            conditions.append(_overlap(query.start, query.end, span))
        elif query.start is not None:
            conditions.append(Event.end > query.start)
        elif query.end is not None:
            conditions.append(Event.start < query.end)
    labels = _labels(query.labels)
    if labels:
        conditions.append(Event.label.in_(labels))
    if query.zones:
        conditions.append(or_(*(Event.zones.cast(Text()).like(_zone_pattern(z), escape="\\")
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

# --- cursors ----------------------------------------------------------------------------------------------------

def _encode_cursor(sort: str, event: Any) -> str:
    key: list[Any] = [event.score if sort == "score" else event.start.isoformat(), event.id]
    raw = json.dumps({"s": sort, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(sort: str, cursor: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        value, event_id = data["k"]
        if data["s"] != sort:
            raise BadCursor(f"this cursor belongs to a search sorted by {data['s']!r}; repeat that search or "
                            "start again without a cursor")
        event_id = int(event_id)
        if not 0 <= event_id < 2**62:
            raise ValueError("event id out of range")
        if sort == "score":
            return float(value), event_id
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("cursor time without offset")
        return moment.astimezone(UTC), event_id
    except BadCursor:
        raise
    except (ValueError, KeyError, TypeError, OverflowError, binascii.Error, json.JSONDecodeError) as exc:
        raise BadCursor("the cursor is not one this search handed out; start again without a cursor") from exc


def _keyset(sort: str, cursor: str | None) -> tuple[list[ColumnElement[bool]], list[Any]]:
    if sort == "time":
        order = [Event.start.asc(), Event.id.asc()]
    elif sort == "-time":
        order = [Event.start.desc(), Event.id.desc()]
    else:
        order = [Event.score.desc(), Event.id.asc()]
    if cursor is None:
        return [], order
    value, event_id = _decode_cursor(sort, cursor)
    if sort == "time":
        after = or_(Event.start > value, and_(Event.start == value, Event.id > event_id))
    elif sort == "-time":
        after = or_(Event.start < value, and_(Event.start == value, Event.id < event_id))
    else:
        after = or_(Event.score < value, and_(Event.score == value, Event.id > event_id))
    return [after], order


# --- the services ----------------------------------------------------------------------------------------------

def _cameras_of(session: Session, query: EventQuery, site_ids: frozenset[int] | None) -> list[CameraInfo]:
    if query.resolved is not None and query.resolved[0] == site_ids:
        return query.resolved[1]
    return resolve_cameras(session, query.sites, query.gates, query.cameras, site_ids)


def build_search(session: Session, query: EventQuery, site_ids: frozenset[int] | None = None):  # type: ignore[no-untyped-def]
    """The SELECT a search runs (and the cameras it covers); exposed so tests and the bench can EXPLAIN it."""
    _validate(query)
    cameras = _cameras_of(session, query, site_ids)
    unfiltered = not (query.sites or query.gates or query.cameras) and site_ids is None
    conditions = _conditions(session, query, cameras, unfiltered)
    after, order = _keyset(query.sort, query.cursor)
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
            return plate_page(session, query, site_ids)  # type: ignore[no-any-return]
        except PlateQueryError as exc:
            raise BadCursor(str(exc)) from exc
    statement, cameras = build_search(session, query, site_ids)
    rows = list(session.execute(statement).all())
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    info = {c.id: c for c in cameras}
    next_cursor = _encode_cursor(query.sort, rows[-1]) if more and rows else None
    return SearchPage(events=rows, cameras=info, next_cursor=next_cursor)


def explain(session: Session, statement: Any) -> list[str]:
    """SQLite's EXPLAIN QUERY PLAN lines for a statement (empty on other databases).

    The statement runs once so that SQLAlchemy renders its final SQL and parameters; the plan of exactly
    that SQL is then asked for.
    """
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
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
    rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + captured["sql"], captured["params"]).all()
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
    _validate(query)
    if (query.end - query.start).total_seconds() / bucket_s > MAX_BUCKETS:
        raise BadFilter(f"the window holds more than {MAX_BUCKETS} buckets of {bucket_s} s; use a larger bucket")
    cameras = _cameras_of(session, query, site_ids)
    unfiltered = not (query.sites or query.gates or query.cameras) and site_ids is None
    conditions = _conditions(session, query, cameras, unfiltered)
    origin = query.start
    if session.get_bind().dialect.name == "sqlite":
        offset = (func.julianday(Event.start) - func.julianday(origin.replace(tzinfo=None))) * 86400.0
    else:
        offset = func.extract("epoch", Event.start - origin)
    # Events that began before the window (and overlap it) count in its first bucket.
    if session.get_bind().dialect.name == "sqlite":
        bucket = func.max(cast(offset / bucket_s, Integer), 0)
    else:
        bucket = func.greatest(func.floor(offset / bucket_s), 0)
    if query.plate:
        from detection.plates.search import plate_buckets

        rows = plate_buckets(session, query, site_ids, bucket_s)  # the events a plate search lists, counted
    else:
        rows = session.execute(
            select(Event.camera_id, bucket.label("b"), func.count().label("n")).where(*conditions)
            .group_by(Event.camera_id, bucket)
        ).all()
    counts: dict[str, list[BucketCount]] = {c.id: [] for c in cameras}
    for camera_id, b, n in rows:
        counts.setdefault(camera_id, []).append(
            BucketCount(origin + timedelta(seconds=int(b) * bucket_s), int(n)))
    return Summary(
        bucket_s=bucket_s, start=query.start, end=query.end,
        cameras=[CameraCounts(c, sorted(counts.get(c.id, []), key=lambda x: x.start)) for c in cameras],
    )


__all__ = [
    "LABELS", "VEHICLE_LABELS", "BadCursor", "BadFilter", "BadTimeOfDay", "CameraInfo", "EventQuery",
    "InvalidWindow", "MalformedTime", "SearchError", "SearchForbidden", "SearchPage", "Summary", "TimeOfDay",
    "UnknownCamera", "build_search", "explain", "find_event", "longest_event_span", "make_query", "parse_time",
    "parse_time_of_day", "resolve_cameras", "search_events", "shared_timezone", "summarise_events",
    "time_of_day_intervals",
]
