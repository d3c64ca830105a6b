"""The segment catalogue: sites, cameras with their zones, and importing video files as timed segments.

``import_file`` is the one path every file takes, from the CLI's import and from uploads alike:
probe (in a child process) -> start time (stated, else the NVR file name, else the container's
creation_time) -> copy into the store's staging area with its SHA-256 -> duplicate? overlap? -> keep.
A refused file never reaches a content address.

Times: the recorder's clock is corrected by ``camera.clock_offset_s`` when the start comes from the
recorder (file name, creation_time). A start stated by a person (``--start``, the upload's start field)
is taken as true time and not corrected.

Overlap: a segment that overlaps an existing segment of the same camera by more than ``OVERLAP_TOLERANCE_S``
(2 s) is refused, naming the other file and its span. Recorders cut files on their own clock and two
consecutive exports often share a second or so; more than that means one of the two start times is wrong
(or the same footage was exported twice in different containers), and guessing which would put events at
the wrong time, which is worse for evidence than asking the person to pass ``--start``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path, PurePath
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from footage import times
from footage.models import Camera, Segment, SegmentStatus, Site
from footage.naming import times_from_name
from footage.probe import ProbeError, VideoProbe, probe
from footage.storage import StagedFile, StorageError, check_free_space, relative_to_home, stage_copy

OVERLAP_TOLERANCE_S = 2.0
CAMERA_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
ZONE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,99}$")
SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")
START_EXAMPLE = times.EXAMPLE
CLI_START_HINT = f"pass its start with gatewatch import --start {START_EXAMPLE}"
UPLOAD_START_HINT = ("pass its start: on the Footage page, type when the recording started (camera time) in "
                     "the Start time box and upload the file again; through the API, send its start")


class CatalogueError(ValueError):
    """A request the catalogue cannot carry out; the message says what to change."""


class UnknownSite(CatalogueError):
    pass


class UnknownCamera(CatalogueError):
    """No camera (or site, or gate) of that name, or none the asker may reach; search raises a subclass."""


class AlreadyExists(CatalogueError):
    pass


class ImportStatus(StrEnum):
    """What became of a file handed to import; the JSON shows its text value."""

    IMPORTED = "imported"
    DUPLICATE = "duplicate"
    REFUSED = "refused"


@dataclass
class ImportResult:
    """What became of one file handed to the catalogue."""

    path: str
    """The file as the user named it (a path given to import, or an upload's file name)."""
    status: str
    """"imported", "duplicate" (this camera holds the same content already) or "refused"."""
    camera: str | None
    """The camera the segment belongs to (always the camera the file was imported for)."""
    segment_id: int | None = None
    """The segment holding this content (new, or the existing one for a duplicate)."""
    start: datetime | None = None
    """Wall-clock start of the segment (aware, UTC)."""
    end: datetime | None = None
    """Wall-clock end of the segment (aware, UTC)."""
    sha256: str | None = None
    """SHA-256 of the content, once it was read."""
    error: str | None = None
    """Why the file was refused, in one sentence that says what to do."""
    timezone: str = "UTC"
    """The camera's time zone, used to show start and end."""
    size_bytes: int = 0
    """Bytes read from the file."""

    @property
    def refused(self) -> bool:
        return self.status == ImportStatus.REFUSED

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the CLI and the API: times in ISO 8601 with the camera's offset."""
        return {
            "path": self.path,
            "status": self.status,
            "segment_id": self.segment_id,
            "camera": self.camera,
            "start": local_iso(self.start, self.timezone),
            "end": local_iso(self.end, self.timezone),
            "sha256": self.sha256,
            "error": self.error,
        }


# --- times -----------------------------------------------------------------------------------------------

def zone_of(timezone: str) -> ZoneInfo:
    try:
        return times.zone_of(timezone)
    except times.UnknownZone as exc:
        raise CatalogueError(str(exc)) from exc


def local_iso(moment: datetime | None, timezone: str) -> str | None:
    """ISO 8601 in the camera's zone (see :func:`footage.times.local_iso`); None stays None."""
    if moment is None:
        return None
    try:
        return times.local_iso(moment, timezone)
    except times.UnknownZone as exc:
        raise CatalogueError(str(exc)) from exc


def parse_time(text: str | datetime, timezone: str, what: str = "start") -> datetime:
    """:func:`footage.times.parse_time`, its mistakes as :class:`CatalogueError`."""
    zone_of(timezone)
    try:
        return times.parse_time(text, timezone, what)
    except times.BadTime as exc:
        raise CatalogueError(str(exc)) from exc


# --- sites and cameras -------------------------------------------------------------------------------------

def add_site(session: Session, name: str) -> Site:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise CatalogueError("a site needs a name of 1 to 200 characters")
    if session.scalar(select(Site).where(Site.name == name)) is not None:
        raise AlreadyExists(f"a site named {name!r} exists already")
    site = Site(name=name)
    session.add(site)
    session.flush()
    return site


def get_site(session: Session, name: str) -> Site:
    site = session.scalar(select(Site).where(Site.name == name))
    if site is None:
        raise UnknownSite(f"no site named {name!r}; add it first with 'gatewatch sites add {name}'")
    return site


def list_sites(session: Session, site_ids: Iterable[int] | None = None) -> list[Site]:
    """Every site, or only those with the given ids (what a principal may reach)."""
    query = select(Site).order_by(Site.name)
    if site_ids is not None:
        query = query.where(Site.id.in_(list(site_ids)))
    return list(session.scalars(query))


def parse_zone(spec: str) -> tuple[str, list[list[float]]]:
    """``NAME=x1,y1;x2,y2;x3,y3`` (0..1 frame coordinates, at least three points) -> (name, polygon)."""
    name, sep, points = spec.partition("=")
    if not sep:
        raise CatalogueError(f"zone {spec!r} has no '='; write it like barrier=0.1,0.5;0.6,0.5;0.6,0.9")
    polygon: list[list[float]] = []
    for pair in points.split(";"):
        if not pair.strip():
            continue
        try:
            x_text, y_text = pair.split(",")
            polygon.append([float(x_text), float(y_text)])
        except ValueError as exc:
            raise CatalogueError(
                f"zone {name.strip()!r}: point {pair.strip()!r} is not 'x,y'; "
                "write it like barrier=0.1,0.5;0.6,0.5;0.6,0.9"
            ) from exc
    return name.strip(), validate_polygon(name.strip(), polygon)


def validate_polygon(name: str, polygon: Any) -> list[list[float]]:
    if not ZONE_NAME.match(name or ""):
        raise CatalogueError(f"zone name {name!r} must be 1-100 letters, digits, spaces, '-' or '_'")
    try:
        points = [[float(x), float(y)] for x, y in polygon]
    except (TypeError, ValueError) as exc:
        raise CatalogueError(f"zone {name!r} must be a list of [x, y] points") from exc
    if len(points) < 3:
        raise CatalogueError(f"zone {name!r} has {len(points)} points; a zone needs at least 3")
    for x, y in points:
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise CatalogueError(
                f"zone {name!r}: point ({x:g}, {y:g}) is outside the frame; use fractions of the frame from 0 to 1"
            )
    return points


def validate_zones(zones: dict[str, Any] | None) -> dict[str, list[list[float]]]:
    return {name: validate_polygon(name, polygon) for name, polygon in (zones or {}).items()}


def add_camera(session: Session, camera_id: str, site_name: str, gate: str, timezone: str = "UTC",
               zones: dict[str, Any] | None = None, clock_offset_s: float = 0.0) -> Camera:
    """Add a camera to a site; zones are named polygons in 0..1 frame coordinates."""
    if not CAMERA_ID.match(camera_id or ""):
        raise CatalogueError(
            f"camera id {camera_id!r} must be 1-100 letters, digits, '.', '-' or '_' (it appears in URLs)"
        )
    if session.get(Camera, camera_id) is not None:
        raise AlreadyExists(f"a camera with id {camera_id!r} exists already")
    gate = (gate or "").strip()
    if not gate or len(gate) > 200:
        raise CatalogueError("a camera needs a gate name of 1 to 200 characters, e.g. --gate 'North gate'")
    zone_of(timezone)
    site = get_site(session, site_name)
    camera = Camera(id=camera_id, site_id=site.id, gate=gate, timezone=timezone, clock_offset_s=float(clock_offset_s),
                    zones=validate_zones(zones))
    session.add(camera)
    session.flush()
    return camera


def get_camera(session: Session, camera_id: str) -> Camera:
    camera = session.get(Camera, camera_id)
    if camera is None:
        raise UnknownCamera(f"no camera {camera_id!r}; list them with 'gatewatch cameras list'")
    return camera


def list_cameras(session: Session, site_ids: Iterable[int] | None = None) -> list[Camera]:
    query = select(Camera).join(Site).order_by(Site.name, Camera.id)
    if site_ids is not None:
        query = query.where(Camera.site_id.in_(list(site_ids)))
    return list(session.scalars(query))


def camera_to_dict(camera: Camera) -> dict[str, Any]:
    return {
        "id": camera.id,
        "site": camera.site.name,
        "gate": camera.gate,
        "timezone": camera.timezone,
        "clock_offset_s": camera.clock_offset_s,
        "zones": camera.zones or {},
        "retain_days": camera.retain_days,
        "effective_retain_days": camera.retain_days if camera.retain_days is not None else camera.site.retain_days,
        "read_plates": camera.read_plates is not False,
    }


# --- segments -----------------------------------------------------------------------------------------------

def list_segments(session: Session, camera_id: str) -> list[Segment]:
    return list(session.scalars(select(Segment).where(Segment.camera_id == camera_id).order_by(Segment.start)))


def set_segment_status(session: Session, segment_id: int, status: str, error: str | None = None) -> None:
    """Record where indexing of a segment stands (the one place detection writes the segment table).

    ``error`` is recorded with FAILED and cleared once INDEXED; queueing or indexing keeps the last failure's
    message until it is replaced. A segment deleted meanwhile is left alone. The caller commits.
    """
    segment = session.get(Segment, segment_id)
    if segment is None:
        return
    segment.status = status
    if status == SegmentStatus.FAILED:
        segment.error = error
    elif status == SegmentStatus.INDEXED:
        segment.error = None


def overlapping(session: Session, camera_id: str, start: datetime, end: datetime,
                tolerance_s: float = OVERLAP_TOLERANCE_S) -> list[Segment]:
    """Segments of the camera that share more than ``tolerance_s`` seconds with [start, end)."""
    slack = timedelta(seconds=tolerance_s)
    candidates = session.scalars(
        select(Segment).where(Segment.camera_id == camera_id, Segment.start < end - slack, Segment.end > start + slack)
        .order_by(Segment.start)
    )
    return [s for s in candidates if (min(s.end, end) - max(s.start, start)).total_seconds() > tolerance_s]


def _start_time(camera: Camera, name_path: PurePath, probed: VideoProbe,
                stated_start: str | datetime | None) -> tuple[datetime, str] | None:
    if stated_start is not None and stated_start != "":
        return parse_time(stated_start, camera.timezone), "stated"
    offset = timedelta(seconds=camera.clock_offset_s or 0.0)
    named = times_from_name(name_path, camera.timezone)
    if named is not None:
        return named.start + offset, "file name"
    if probed.creation_time:
        return parse_time(probed.creation_time, camera.timezone, "creation_time") + offset, "creation_time"
    return None


def import_file(session: Session, path: str | Path, camera_id: str, stated_start: str | datetime | None = None, *,
                display_name: str | None = None, name_path: PurePath | None = None,
                staged: StagedFile | None = None, progress: Callable[[int], None] | None = None,
                start_hint: str = CLI_START_HINT) -> ImportResult:
    """Import one video file as a segment of ``camera_id``; flushes, the caller commits.

    ``start_hint`` says how this caller's user states a start (the CLI's ``--start``, the web page's field).

    ``display_name`` is what the result and the segment call the file (default: the path as given);
    ``name_path`` is what the start time is read from (default: the path, so Dahua's dated folders count).
    ``staged`` is a file already hashed into the store's staging area (a finished upload): it is kept or
    discarded here, and the source is not copied again. Raises ``UnknownCamera`` and ``CatalogueError`` for
    a bad ``camera_id`` or ``stated_start``; a bad file gives a "refused" result instead.
    """
    camera = get_camera(session, camera_id)
    path = Path(path)
    shown = display_name or str(path)
    name_path = name_path or PurePath(path)
    result = ImportResult(path=shown, status=ImportStatus.REFUSED, camera=camera.id, timezone=camera.timezone)

    def refuse(message: str) -> ImportResult:
        if staged is not None:
            staged.discard()
        result.error = message
        return result

    if stated_start not in (None, ""):
        parse_time(stated_start, camera.timezone)  # a malformed --start is the caller's mistake: raise
    try:
        probed = probe(path)
    except ProbeError as exc:
        # The probe names the file it read, which for an upload is a staging file; name the user's file instead.
        return refuse(str(exc).replace(path.name, PurePath(shown).name))

    timing = _start_time(camera, name_path, probed, stated_start)
    if timing is None:
        return refuse(
            f"{name_path.name}: no start time: its name follows no known recorder pattern and the file carries no "
            f"creation time; {start_hint}"
        )
    start, source = timing
    end = start + timedelta(seconds=probed.duration_s)
    result.start, result.end = start, end

    if staged is None:
        try:
            check_free_space(path.stat().st_size, f"{name_path.name}")
            staged = stage_copy(path, progress)
        except StorageError as exc:
            return refuse(str(exc))
    result.sha256, result.size_bytes = staged.sha256, staged.size

    # A duplicate is looked for on this camera only: the same content held by another site's camera must not
    # reveal that camera, its segment or its times; this camera gets its own segment of the one stored file.
    existing = _same_content(session, camera.id, staged.sha256)
    if existing is not None:
        staged.discard()
        return _duplicate(result, existing)

    clashes = overlapping(session, camera.id, start, end)
    if clashes:
        other = clashes[0]
        shared = (min(other.end, end) - max(other.start, start)).total_seconds()
        zone = camera.timezone
        return refuse(
            f"{name_path.name} ({local_iso(start, zone)} to {local_iso(end, zone)}, start from {source}) overlaps "
            f"segment {other.id} '{other.original_name}' ({local_iso(other.start, zone)} to "
            f"{local_iso(other.end, zone)}) by {shared:.0f} s; "
            f"if this file's start time is wrong, {start_hint.replace('pass its start', 'pass the right one')}"
        )

    suffix = Path(name_path.name).suffix.lower()
    stored = staged.keep(suffix if SUFFIX.match(suffix) else ".bin")
    segment = Segment(
        camera_id=camera.id, path=relative_to_home(stored), original_name=name_path.name[:500],
        sha256=staged.sha256, size_bytes=staged.size, start=start, end=end, start_source=source,
        fps=probed.fps, variable_frame_rate=probed.variable_frame_rate, codec=probed.codec[:32],
        width=probed.width, height=probed.height, rotation=probed.rotation, status=SegmentStatus.STORED,
        probe=probed.to_dict(),
    )
    try:
        with session.begin_nested():
            session.add(segment)
    except IntegrityError:
        # The same content landed from another import a moment ago; it is stored once, at the same address.
        existing = _same_content(session, camera.id, staged.sha256)
        if existing is None:
            raise
        return _duplicate(result, existing)
    result.status = ImportStatus.IMPORTED
    result.segment_id = segment.id
    return result


def _same_content(session: Session, camera_id: str, sha256: str) -> Segment | None:
    return session.scalar(select(Segment).where(Segment.camera_id == camera_id, Segment.sha256 == sha256))


def _duplicate(result: ImportResult, existing: Segment) -> ImportResult:
    result.status = ImportStatus.DUPLICATE
    result.segment_id = existing.id
    result.camera = existing.camera_id
    result.timezone = existing.camera.timezone
    result.start, result.end = existing.start, existing.end
    result.error = None
    return result
