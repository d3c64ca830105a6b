"""Footage lifecycle on the api floor: evidence holds from open cases, audited purges and deletions, settings
(the storage report is ``api.storage_status``). HTTP routes and CLI commands are thin shells over these functions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from api import audit
from api.cases import MAX_ROLL_S
from api.models import AuditEntry, Case, CaseItem
from detection.models import Event, EventPlateCrop
from footage.catalogue import CatalogueError, UnknownCamera, UnknownSite, validate_zones, zone_of
from footage.models import Camera, Segment, Site
from footage.retention import (
    HeldRange,
    PurgeReport,
    SegmentHeld,
    delete_segments,
    holding_cases,
    purge,
)

OPEN = "open"
CLOSED = "closed"


class LifecycleError(ValueError):
    """A lifecycle request that cannot be done as asked; the message says what to change."""


class PlatesStillRead(LifecycleError):
    """Plates were to be forgotten on a camera that still reads them."""


def held_ranges(session: Session) -> list[HeldRange]:
    """Every camera time range an open case holds.

    An event's clip is exported with up to MAX_ROLL_S of pre- and post-roll, which may lie in the neighbouring
    segments; those are held too, so the case exports as fully after a purge as before it.
    """
    roll = timedelta(seconds=MAX_ROLL_S)
    rows = session.execute(
        select(CaseItem.camera_id, CaseItem.start, CaseItem.end, CaseItem.event_id, Case.name)
        .join(Case, Case.id == CaseItem.case_id).where(Case.status == OPEN)
    ).all()
    return [HeldRange(r.camera_id, r.start - roll, r.end + roll, r.name) if r.event_id is not None
            else HeldRange(r.camera_id, r.start, r.end, r.name) for r in rows]


def run_purge(session: Session, *, actor: str, dry_run: bool = False, remote_addr: str | None = None,
              now: datetime | None = None) -> PurgeReport:
    """Purge expired footage; one audit entry (committed with the deletions) says what went and what was held."""
    def add_audit(report: PurgeReport) -> None:
        if not dry_run:
            audit.record(session, user_name=actor, action="footage_purge", obj="footage",
                         detail=report.audit_detail(), remote_addr=remote_addr)

    return purge(session, now or datetime.now(UTC), held_ranges(session), dry_run=dry_run, before_commit=add_audit)


def last_purge(session: Session) -> datetime | None:
    """When the last purge ran (its audit entry), or None."""
    return session.scalar(select(AuditEntry.at).where(AuditEntry.action == "footage_purge")
                          .order_by(AuditEntry.id.desc()).limit(1))


def purge_due(session: Session, interval_s: float, now: datetime | None = None) -> bool:
    """True when no purge ran in the last ``interval_s`` seconds (or none ever did)."""
    last = last_purge(session)
    return last is None or (now or datetime.now(UTC)) - last >= timedelta(seconds=interval_s)


def delete_segment(session: Session, segment_id: int, reason: str, *, actor: str,
                   remote_addr: str | None = None) -> dict[str, Any]:
    """Delete one segment by hand (a wrong upload), refused while an open case holds it."""
    reason = reason.strip()
    if not reason:
        raise LifecycleError("give a reason for deleting footage (--reason TEXT); it goes into the audit trail")
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise LookupError(f"no segment {segment_id}; list them with 'gatewatch segments list CAMERA'")
    cases = holding_cases(segment, held_ranges(session))
    if cases:
        raise SegmentHeld(f"segment {segment_id} is held by open case(s) {', '.join(cases)}; close them first "
                          "with 'gatewatch cases close CASE --reason TEXT'")
    detail = {"camera": segment.camera_id, "sha256": segment.sha256, "bytes": segment.size_bytes,
              "start": segment.start.isoformat(), "end": segment.end.isoformat(), "reason": reason}
    audit.record(session, user_name=actor, action="segment_delete", obj=f"segment:{segment_id}", detail=detail,
                 remote_addr=remote_addr)
    files, clips = delete_segments(session, [segment])
    return {"id": segment_id, **detail, "files_removed": files, "clips_removed": clips}


def close_case(session: Session, case: Case, reason: str, *, actor: str, remote_addr: str | None = None) -> Case:
    """Close a case, releasing its hold on footage; audited with the reason."""
    reason = reason.strip()
    if not reason:
        raise LifecycleError("give a reason for closing the case (--reason TEXT); it goes into the audit trail")
    if case.status == CLOSED:
        raise LifecycleError(f"case {case.name!r} is already closed")
    case.status, case.closed_at, case.close_reason = CLOSED, datetime.now(UTC), reason
    audit.record(session, user_name=actor, action="case_close", obj=f"case:{case.id}",
                 detail={"name": case.name, "reason": reason}, remote_addr=remote_addr)
    session.commit()
    return case


def _check_days(days: int | None) -> int | None:
    if days is not None and not 1 <= days <= 36500:
        raise LifecycleError(f"retention of {days} days is out of range; give 1 to 36500 days, or none to keep")
    return days


_UNSET: Any = object()


def update_camera(session: Session, camera_id: str, *, actor: str, remote_addr: str | None = None,
                  retain_days: int | None = _UNSET, gate: str | None = None, timezone: str | None = None,
                  zones: dict[str, Any] | None = None, read_plates: bool | None = None) -> Camera:
    camera = session.get(Camera, camera_id)
    if camera is None:
        raise UnknownCamera(f"no camera {camera_id!r}; see 'gatewatch cameras list'")
    changes: dict[str, Any] = {}
    if retain_days is not _UNSET:
        camera.retain_days = changes["retain_days"] = _check_days(retain_days)
    if gate is not None:
        if not gate.strip():
            raise CatalogueError("the gate name is empty; give the gate it watches, e.g. 'North gate'")
        camera.gate = changes["gate"] = gate.strip()
    if timezone is not None:
        zone_of(timezone)
        camera.timezone = changes["timezone"] = timezone
    if zones is not None:
        camera.zones = changes["zones"] = validate_zones(zones)
    if read_plates is not None:
        camera.read_plates = changes["read_plates"] = bool(read_plates)
    audit.record(session, user_name=actor, action="camera_update", obj=f"camera:{camera.id}", detail=changes,
                 remote_addr=remote_addr)
    session.commit()
    return camera


def forget_plates(session: Session, camera_id: str, *, actor: str, remote_addr: str | None = None) -> dict[str, int]:
    """Delete the plate text, score and crop of a camera's events, once its plate reading is off; audited.

    Plates are personal data a site may stop keeping, but an open case is evidence: the events an open case names,
    and those inside a time range it holds, keep their plates until the case is closed.
    """
    camera = session.get(Camera, camera_id)
    if camera is None:
        raise UnknownCamera(f"no camera {camera_id!r}; see 'gatewatch cameras list'")
    if camera.read_plates:
        raise PlatesStillRead(f"camera {camera_id!r} still reads plates; turn plate reading off first "
                             "('gatewatch cameras set CAMERA --plates off')")
    items = session.execute(
        select(CaseItem.event_id, CaseItem.start, CaseItem.end).join(Case, Case.id == CaseItem.case_id)
        .where(Case.status == OPEN, CaseItem.camera_id == camera_id)).all()
    rows = session.execute(select(Event.id, Event.start, Event.end).where(
        Event.camera_id == camera_id,
        Event.plate.is_not(None) | Event.id.in_(select(EventPlateCrop.event_id)))).all()
    # An event item holds its own event; a time range holds every event in it (the roll only holds footage).
    named = {i.event_id for i in items if i.event_id is not None}
    ranges = [(i.start, i.end) for i in items if i.event_id is None]
    held = {r.id for r in rows if r.id in named or any(a < r.end and r.start < b for a, b in ranges)}
    ids = [r.id for r in rows if r.id not in held]
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        session.execute(update(Event).where(Event.id.in_(chunk))
                        .values(plate=None, plate_norm=None, plate_score=None))
        session.execute(delete(EventPlateCrop).where(EventPlateCrop.event_id.in_(chunk)))
    counts = {"forgotten": len(ids), "kept_for_cases": len(held)}
    audit.record(session, user_name=actor, action="plates_forget", obj=f"camera:{camera_id}", detail=counts,
                 remote_addr=remote_addr)
    session.commit()
    return counts


def update_site(session: Session, site: Site | str | int, retain_days: int | None, *, actor: str,
                remote_addr: str | None = None) -> Site:
    found = site if isinstance(site, Site) else session.scalar(
        select(Site).where(Site.id == site if isinstance(site, int) else Site.name == site))
    if found is None:
        raise UnknownSite(f"no site {site!r}; see 'gatewatch sites list'")
    found.retain_days = _check_days(retain_days)
    audit.record(session, user_name=actor, action="site_update", obj=f"site:{found.name}",
                 detail={"retain_days": found.retain_days}, remote_addr=remote_addr)
    session.commit()
    return found
