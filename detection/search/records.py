"""What a search takes and gives back: the query, cameras, pages of events and bucket counts, and its limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

SORTS = ("time", "-time", "score")
MAX_LIMIT = 500
MAX_TIME_OF_DAY_DAYS = 400
MAX_BUCKETS = 20_000


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
