"""Evidence cases: events and camera time ranges gathered under a name, and their export as a signed package.

A case has an owner (who opened it) and a scope: the sites its opener could reach (None: every site, for an admin
or an all-sites officer). A case is visible to admins and to a principal who reaches every site of its scope and of
every camera it holds, so an empty case of site A is invisible to site B. Items may only come from the scope's
sites. Names are unique within a scope, so a clash never tells site B that site A has a case by that name. Adding
an event or range of a camera the principal cannot reach is refused the same way whether or not it exists.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import av
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.clip_service import MAX_CLIP, MAX_ROLL_S, cut_window_to, event_window
from api.models import Case, CaseItem, Role
from detection.models import Event, EventThumbnail
from footage import clips as clip_cutting
from footage import times
from footage.evidence import (
    EventRecordRef,
    PackageClip,
    PackageHeader,
    PackageThumbnail,
    SourceRecord,
    build_package,
    safe_name,
)
from footage.models import Camera, Segment, Site
from footage.settings import get_settings
from footage.signing import load_or_create

MAX_RANGE = MAX_CLIP  # one limit for every clip window: see api.clip_service
MAX_ITEMS = 200
MAX_EVENTS_LISTED = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class CaseError(ValueError):
    """A case request that cannot be carried out as given, with what to change."""


class ExportFailed(CaseError):
    """A clip of the case could not be cut from its stored segments."""


class CaseNotFound(LookupError):
    """No case (or item) by that name or id."""


class CaseForbidden(PermissionError):
    """The principal's role or sites do not reach something in the request; says nothing about whether it exists."""


@dataclass(frozen=True)
class RangeRequest:
    """A camera time range as asked for; times without an offset are read in the camera's time zone."""

    camera: str
    """Camera id."""
    start: str | datetime
    """ISO 8601 start (or an aware datetime)."""
    end: str | datetime
    """ISO 8601 end (or an aware datetime)."""


@dataclass
class ExportResult:
    """A package written to disk."""

    path: Path
    """The zip file."""
    manifest: dict[str, Any]
    """Its manifest, as signed."""
    clips: int
    """Clips in the package."""
    missing: list[dict[str, Any]] = field(default_factory=list)
    """Items that had no stored footage (also listed in the manifest's notes)."""


def gatewatch_version() -> str:
    try:
        return version("gatewatch")
    except PackageNotFoundError:
        return "unknown"


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200 or _CONTROL.search(name):
        raise CaseError("a case name is 1-200 printable characters; pick a shorter or plainer name")
    return name


def _check_reference(reference: str | None) -> str | None:
    if reference is None:
        return None
    reference = reference.strip()
    if len(reference) > 200 or _CONTROL.search(reference):
        raise CaseError("a case reference is at most 200 printable characters")
    return reference or None


def parse_time(value: str | datetime, timezone: str, what: str) -> datetime:
    """An aware UTC datetime; a value without an offset is read in ``timezone`` (the camera's)."""
    try:
        return times.parse_time(value, timezone, what)
    except (times.BadTime, times.UnknownZone) as exc:
        raise CaseError(str(exc)) from exc


def _reachable_camera(session: Session, principal: Principal, camera_id: str) -> Camera:
    camera = session.get(Camera, camera_id) if len(camera_id) <= 100 else None
    if camera is not None and principal.may_reach_site(camera.site_id):
        return camera
    if principal.is_admin:
        raise CaseError(f"no camera {camera_id!r}; see GET /api/v1/cameras")
    raise CaseForbidden("your role or site does not allow this")


def _scope(principal: Principal) -> list[int] | None:
    return None if principal.site_ids is None else sorted(principal.site_ids)


def _scope_key(scope: list[int] | None) -> str:
    return "*" if scope is None else ",".join(map(str, sorted(scope)))


def _may_see(session: Session, principal: Principal, case: Case) -> bool:
    if principal.is_admin:
        return True
    if case.scope_sites is None:
        if principal.site_ids is not None:
            return False
    elif not all(principal.may_reach_site(site_id) for site_id in case.scope_sites):
        return False
    if principal.site_ids is None:
        return True
    for item in case.items:
        camera = session.get(Camera, item.camera_id)
        if camera is None or not principal.may_reach_site(camera.site_id):
            return False
    return True


def _check_role(principal: Principal) -> None:
    if principal.role not in (Role.ADMIN, Role.OFFICER):
        raise CaseForbidden("your role or site does not allow this")


def _in_scope(case: Case, principal: Principal, camera: Camera) -> Camera:
    """The camera, when the case may hold its footage (its site is in the case's scope)."""
    if case.scope_sites is None or camera.site_id in case.scope_sites:
        return camera
    if principal.is_admin:
        raise CaseError(f"case {case.name!r} holds footage of its own sites only; camera {camera.id!r} is of another "
                        "site: open another case for it")
    raise CaseForbidden("your role or site does not allow this")


def _new_items(session: Session, principal: Principal, case: Case, event_ids: list[int],
               ranges: list[RangeRequest]) -> list[CaseItem]:
    held_events = {item.event_id for item in case.items if item.event_id is not None}
    items: list[CaseItem] = []
    for event_id in dict.fromkeys(event_ids):
        event = session.get(Event, event_id) if 0 < event_id < 2**62 else None
        if event is None:
            if principal.is_admin:
                raise CaseError(f"no event {event_id}; find events with GET /api/v1/events")
            raise CaseForbidden("your role or site does not allow this")
        _in_scope(case, principal, _reachable_camera(session, principal, event.camera_id))
        if event_id in held_events:
            continue
        items.append(CaseItem(event_id=event.id, camera_id=event.camera_id, start=event.start, end=event.end))
    for wanted in ranges:
        camera = _in_scope(case, principal, _reachable_camera(session, principal, wanted.camera))
        start = parse_time(wanted.start, camera.timezone, "from")
        end = parse_time(wanted.end, camera.timezone, "to")
        if end <= start:
            raise CaseError(f"the range of camera {camera.id!r} ends before it starts; swap 'from' and 'to'")
        if end - start > MAX_RANGE:
            raise CaseError(f"a range is at most {MAX_RANGE.total_seconds() / 3600:g} hours; split longer ones")
        items.append(CaseItem(event_id=None, camera_id=camera.id, start=start, end=end))
    if len(case.items) + len(items) > MAX_ITEMS:
        raise CaseError(f"a case holds at most {MAX_ITEMS} items; start another case for the rest")
    return items


def create_case(session: Session, principal: Principal, name: str, reference: str | None = None,
                event_ids: list[int] | None = None, ranges: list[RangeRequest] | None = None) -> Case:
    _check_role(principal)
    name = check_name(name)
    scope = _scope(principal)
    # Only cases of the same scope clash, and the principal may see every one of those: nothing leaks.
    if session.scalar(select(Case.id).where(Case.scope_key == _scope_key(scope), Case.name == name)) is not None:
        raise CaseError(f"a case named {name!r} exists already; add items to it or pick another name")
    case = Case(name=name, reference=_check_reference(reference), created_by=principal.name,
                owner_id=principal.user_id if principal.user_id > 0 else None, scope_sites=scope,
                scope_key=_scope_key(scope))
    case.items.extend(_new_items(session, principal, case, event_ids or [], ranges or []))
    session.add(case)
    session.flush()
    return case


def list_cases(session: Session, principal: Principal) -> list[Case]:
    _check_role(principal)
    cases = session.scalars(select(Case).order_by(Case.id))
    return [case for case in cases if _may_see(session, principal, case)]


def get_case(session: Session, principal: Principal, case_id: int) -> Case:
    _check_role(principal)
    case = session.get(Case, case_id) if 0 < case_id < 2**62 else None
    if case is not None and _may_see(session, principal, case):
        return case
    if principal.is_admin or principal.site_ids is None:
        raise CaseNotFound(f"no case {case_id}; see GET /api/v1/cases")
    raise CaseForbidden("your role or site does not allow this")


def find_case(session: Session, principal: Principal, name: str) -> Case | None:
    """The case with this name, if any (and if the principal may see it)."""
    _check_role(principal)
    case = session.scalar(select(Case).where(Case.scope_key == _scope_key(_scope(principal)), Case.name == name))
    if case is None and principal.is_admin:
        # An admin at the command line names a case by its name alone; take it when only one scope has it.
        named = list(session.scalars(select(Case).where(Case.name == name).limit(2)))
        case = named[0] if len(named) == 1 else None
    if case is not None and not _may_see(session, principal, case):
        raise CaseForbidden("your role or site does not allow this")
    return case


def add_items(session: Session, principal: Principal, case: Case, event_ids: list[int] | None = None,
              ranges: list[RangeRequest] | None = None) -> Case:
    if case.status == "closed":
        # A closed case holds no footage against retention: evidence added to it could be purged unnoticed.
        raise CaseError(f"case {case.name!r} is closed ({case.close_reason}); open a new case for more evidence")
    case.items.extend(_new_items(session, principal, case, event_ids or [], ranges or []))
    session.flush()
    return case


def remove_item(session: Session, case: Case, item_id: int) -> None:
    item = next((item for item in case.items if item.id == item_id), None)
    if item is None:
        raise CaseNotFound(f"case {case.id} has no item {item_id}; see GET /api/v1/cases/{case.id}")
    case.items.remove(item)
    session.flush()


def case_dict(session: Session, case: Case) -> dict[str, Any]:
    """A case as plain data; item times carry their camera's offset."""
    items = []
    for item in case.items:
        camera = session.get(Camera, item.camera_id)
        zone = ZoneInfo(camera.timezone if camera else "UTC")
        # What was seen, so the item says it on any page: the event's own label and colour while it exists.
        event = session.get(Event, item.event_id) if item.event_id is not None else None
        items.append({
            "id": item.id, "event_id": item.event_id, "camera": item.camera_id,
            "start": item.start.astimezone(zone).isoformat(), "end": item.end.astimezone(zone).isoformat(),
            "label": event.label if event else None, "colour": event.colour if event else None,
        })
    scope = None if case.scope_sites is None else sorted(
        site.name for site in (session.get(Site, site_id) for site_id in case.scope_sites) if site is not None)
    return {
        "id": case.id, "name": case.name, "reference": case.reference, "created_by": case.created_by,
        "created_at": case.created_at.isoformat(), "scope": scope, "items": items,
        "status": case.status, "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "close_reason": case.close_reason,
    }


def export_file_name(case: Case) -> str:
    return f"{safe_name(case.name)}.zip"


def _sources(session: Session, camera_id: str, sources: list[clip_cutting.ClipSource]) -> list[SourceRecord]:
    # The same content may be a segment of another site's camera too: take this camera's name for it.
    names = dict(session.execute(
        select(Segment.sha256, Segment.original_name)
        .where(Segment.camera_id == camera_id, Segment.sha256.in_([s.sha256 for s in sources]))
    ).tuples().all())
    return [
        SourceRecord(name=Path(names.get(source.sha256) or source.path.name).name, sha256=source.sha256,
                     start=source.start, end=source.end)
        for source in sources
    ]


def _events_in(session: Session, camera_id: str, start: datetime, end: datetime) -> list[EventRecordRef]:
    rows = session.scalars(
        select(Event).where(Event.camera_id == camera_id, Event.start < end, Event.end > start)
        .order_by(Event.start).limit(MAX_EVENTS_LISTED)
    )
    return [EventRecordRef(id=e.id, label=e.label, start=e.start, end=e.end, plate=e.plate,
                           plate_score=None if e.plate_score is None else round(e.plate_score, 4)) for e in rows]


def export_case(session: Session, case: Case, out: Path, *, exported_by: str, pre_s: float = 5.0,
                post_s: float = 5.0, exact: bool = False, burn_in: bool = False) -> ExportResult:
    """Cut every item's clip, gather thumbnails, and write the signed package to ``out``."""
    if not (0 <= pre_s <= MAX_ROLL_S and 0 <= post_s <= MAX_ROLL_S):
        raise CaseError(f"pre and post roll are 0-{MAX_ROLL_S:g} seconds")
    if not case.items:
        raise CaseError(f"case {case.name!r} is empty; add events or camera ranges before exporting")
    settings = get_settings()
    exact = exact or burn_in  # the time can only be burned into re-encoded pictures
    package_clips: list[PackageClip] = []
    thumbnails: list[PackageThumbnail] = []
    missing: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="gw-export-", dir=settings.resolved_home) as tmp:
        for item in case.items:
            camera = session.get(Camera, item.camera_id)
            if camera is None:
                continue
            start, end = item.start, item.end
            if item.event_id is not None:
                start, end = event_window(start, end, pre_s, post_s)
            try:
                clip = cut_window_to(session, camera.id, start, end, Path(tmp) / f"item_{item.id}.mp4", exact=exact,
                                     burn_in_tz=camera.timezone if burn_in else None)
            except clip_cutting.NoFootage as exc:
                missing.append({"item": item.id, "camera": camera.id, "event_id": item.event_id,
                                "problem": "no stored footage", "detail": str(exc)})
                continue
            except (clip_cutting.ClipError, clip_cutting.BadClipWindow, av.error.FFmpegError, OSError) as exc:
                # Evidence must not silently leave an item out: refuse the whole export, saying which item failed.
                raise ExportFailed(
                    f"the clip of item {item.id} (camera {camera.id}) could not be cut ({exc}); remove the item "
                    "or check its stored segments, then export again"
                ) from exc
            package_clips.append(PackageClip(
                path=clip.path, camera=camera.id, site=camera.site.name, gate=camera.gate,
                timezone=camera.timezone, start=clip.start, end=clip.end,
                sources=_sources(session, camera.id, clip.sources),
                events=_events_in(session, camera.id, clip.start, clip.end), exact=clip.exact,
                burn_in=burn_in, sha256=clip.sha256,
            ))
            if item.event_id is not None:
                thumb = session.get(EventThumbnail, item.event_id)
                if thumb is not None:
                    thumbnails.append(PackageThumbnail(event_id=item.event_id, jpeg=thumb.jpeg))
        if not package_clips:
            raise CaseError(f"none of the items of case {case.name!r} has stored footage; nothing to export")
        header = PackageHeader(
            case_name=case.name, reference=case.reference, exported_by=exported_by,
            exported_at=datetime.now(UTC).replace(microsecond=0), version=gatewatch_version(), notes=missing,
        )
        manifest = build_package(out, header, package_clips, thumbnails, load_or_create(settings.keys_dir))
    return ExportResult(path=out, manifest=manifest, clips=len(package_clips), missing=missing)
